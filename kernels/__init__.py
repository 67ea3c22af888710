"""Numba kernels of azsim (installed as ``azsim.kernels``).

Only ``@njit`` functions over arrays and scalars live here. Each kernel has a plain NumPy
twin in ``tests/reference/`` and the tests compare the two bit for bit (issue #2).

Fixed-point formats used throughout (documented once, here):

* weights: int8 container holding b-bit symmetric codes in [-(2^(b-1)-1), 2^(b-1)-1],
  one scale per output channel;
* activations: int8 in [-127, 127], one scale per tensor, calibrated on audio;
* accumulators: int32;
* requantization: ``y = (acc * M + 2^(s-1)) >> s`` in int64 with an int32 multiplier
  M in [2^30, 2^31) and a right shift s (arithmetic, i.e. rounding half towards +inf),
  then saturation -- the multiplier-and-shift scheme integer-only hardware uses
  (Jacob et al., CVPR 2018, section 2.2);
* gate pre-activations: int16 Q3.12 (range [-8, 8));
* sigmoid/tanh outputs: int16 Q0.15, from a 513-entry table with linear interpolation;
* LSTM cell state: int16 Q4.11 (range [-16, 16)).
"""
from .jit import jit
from .requant import requantize_i32, requantize_scalar, saturate_i16, q15_to_i8
from .lut import lut_interp, LUT_IN_FRAC_BITS, LUT_OUT_FRAC_BITS, LUT_ENTRIES, LUT_INDEX_SHIFT
from .gemv import gemv_i8, gemm_i8
from .lstm import lstm_cell, lstm_sequence, CELL_FRAC_BITS
from .joint import joint_hidden, joint_step
from .golomb import golomb_decode
from .bitpack import pack_codes, read_codes, read_fields
from .eie import eie_column_entries, eie_schedule
from .pe_array import pe_slice_nnz, pe_invocations, stream_pipeline
from .softmax import log_softmax_q
from .fmatmul import matmul_nt, matmul_kn
from .gptq import gram_accumulate, inverse_upper_cholesky, gptq_round, obs_prune
from .clip import mse_row_scales

__all__ = [
    "jit", "requantize_i32", "requantize_scalar", "saturate_i16", "q15_to_i8", "lut_interp",
    "LUT_IN_FRAC_BITS", "LUT_OUT_FRAC_BITS", "LUT_ENTRIES", "LUT_INDEX_SHIFT",
    "gemv_i8", "gemm_i8", "lstm_cell", "lstm_sequence", "CELL_FRAC_BITS", "joint_step", "golomb_decode", "pack_codes", "read_codes", "read_fields",
    "eie_column_entries", "eie_schedule", "log_softmax_q",
    "pe_slice_nnz", "pe_invocations", "stream_pipeline", "joint_hidden",
    "matmul_nt", "matmul_kn", "gram_accumulate", "inverse_upper_cholesky", "gptq_round",
    "obs_prune", "mse_row_scales",
]
