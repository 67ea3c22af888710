"""Event counts: the only input of the cost stage.

For every layer (a weight matrix or a fused LSTM gate matrix) and every encoder input frame,
the executor counts what the hardware would do. Counts are integers; nothing here knows about
cycles or picojoules.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# Column order of EventLog.counts.
EVENT_FIELDS = (
    "invocations",          # times the layer ran (steps)
    "macs_dense",           # MACs of the dense matrix-vector products
    "macs_nonzero_weight",  # MACs whose weight code is nonzero (static weight sparsity)
    "macs_effectual",       # MACs with nonzero weight AND nonzero activation
    "act_nonzero",          # nonzero input activations read
    "weight_bytes",         # bytes of encoded weight stream the layer consumed
    "decode_symbols",       # stream entries the weight decoder walked (nonzeros + padding)
    "act_read_bytes",       # activation and state bytes read (int8 acts, int16 cell state)
    "act_write_bytes",      # activation and state bytes written
    "lut_lookups",          # sigmoid/tanh table lookups (one 64-bit read of both neighbours each)
)
FIELD = {name: k for k, name in enumerate(EVENT_FIELDS)}


@dataclass(frozen=True)
class LayerInfo:
    name: str
    kind: str                # "lstm", "projection", "embedding", "linear", "joint_out"
    n_out: int
    n_in: int
    weight_count: int
    weight_nnz: int
    weight_bits: int
    weight_stream_bytes: int
    weight_symbols: int = 0   # decoder entries per pass over the weights
    weight_format: str = "dense"
    mac_bits: int | None = None   # the width of the values the MACs multiply (None: weight_bits;
    #                               8 for a codebook's shared values, QMatrix.mac_bits)
    # bytes of the layer's per-row biases and requantization multipliers and shifts, stored
    # and fetched beside its weights (azsim.compress.sidecar); 0 for a layer without them
    weight_side_bytes: int = 0

    @property
    def weight_pass_bytes(self) -> int:
        """What one pass over the layer's weights moves: the stream as given here (a
        processor's stored layout, :func:`azsim.cost.model.stored_layers`) and the per-row
        parameters beside it."""
        return self.weight_stream_bytes + self.weight_side_bytes

    @property
    def mac_weight_bits(self) -> int:
        """The weight width the MAC array works at: lane packing and MAC energy."""
        return self.mac_bits if self.mac_bits is not None else self.weight_bits

    @property
    def weight_decoded_bits(self) -> int:
        """The width of the matrix decoded with its zeros filled back in: its bit-width, but 2
        bits for a 1-bit grid matrix holding zeros, since 1-bit codes are -1 and +1 only (a
        pruned or exactly-zero weight needs a third value; ``azsim.compress.quantize.weight_qmax``).
        A codebook's indices stay at its bit-width (see :func:`decoded_bits`)."""
        return decoded_bits(self.weight_bits, self.weight_nnz < self.weight_count,
                            self.weight_format)

    @property
    def weight_dense_bytes(self) -> int:
        """The matrix with zeros filled back in, packed at :attr:`weight_decoded_bits` (a
        pruned 1-bit matrix was packed at 1 bit, a layout that cannot hold its zeros)."""
        return -(-self.weight_count * self.weight_decoded_bits // 8)


def decoded_bits(bits: int, has_zeros: bool, weight_format: str = "") -> int:
    """Bits a weight takes in a decoded matrix with its zeros filled back in (see
    :attr:`LayerInfo.weight_decoded_bits`). A codebook matrix (``weight_format``
    ``codebook+...``) holds b-bit indices whose
    index 0 is the zero (``azsim.compress.codebook``): a pruned 1-bit codebook's indices are 0
    and 1, so they stay at 1 bit. Until 2026-12-07 a pruned 1-bit codebook was held at 2 bits
    an index, as the binary grid {-1, +1} is (audit: tiny at 50 % sparsity charged 39,864
    bytes of SRAM weights, the unpruned codebook 20,176)."""
    return 2 if bits == 1 and has_zeros and not weight_format.startswith("codebook+") else bits


class EventLog:
    """counts[layer, frame, field] for one utterance, and the activity of each invocation.

    The activity trace (issue #4) is, for every invocation of a matrix layer, which of its input
    activations were nonzero: the cycle model replays the broadcast of exactly those columns
    to the PEs (activation skipping is dynamic: it depends on the audio). For an LSTM layer the
    input vector is its fused [x_t, r_(t-1)]. Invocations recorded without a trace are costed
    as if every activation were nonzero.
    """

    def __init__(self, layers: list[LayerInfo], n_frames: int):
        self.layers = list(layers)
        self.index = {info.name: k for k, info in enumerate(self.layers)}
        self.counts = np.zeros((len(self.layers), n_frames, len(EVENT_FIELDS)), np.int64)
        self._traces: dict[str, list[tuple[np.ndarray, np.ndarray]]] = {}

    def trace(self, layer: str, frames, acts: np.ndarray) -> None:
        """Record the input activations of invocations of ``layer`` at ``frames``: ``acts`` is
        one vector [n_in] (one invocation) or one row per frame [n, n_in]; only which entries
        are nonzero is kept."""
        info = self.layers[self.index[layer]]
        acts = np.asarray(acts)
        mask = (acts != 0).reshape(-1, acts.shape[-1])
        if mask.shape[1] != info.n_in:
            raise ValueError(f"trace of {layer}: {mask.shape[1]} activations, layer has "
                             f"{info.n_in} inputs")
        frames = np.broadcast_to(np.asarray(frames, np.int64), (mask.shape[0],))
        self._traces.setdefault(layer, []).append((np.array(frames), mask))

    def activity(self, layer: str) -> tuple[np.ndarray, np.ndarray]:
        """(frame of each traced invocation int64[n], nonzero mask bool[n, n_in]), in the order
        recorded."""
        info = self.layers[self.index[layer]]
        parts = self._traces.get(layer, [])
        if not parts:
            return np.zeros(0, np.int64), np.zeros((0, info.n_in), bool)
        return (np.concatenate([f for f, _ in parts]),
                np.concatenate([m for _, m in parts], axis=0))

    @property
    def n_frames(self) -> int:
        return self.counts.shape[1]

    def add(self, layer: str, frames, **fields) -> None:
        """Add counts at ``frames`` (an index or index array); each field a scalar or array."""
        k = self.index[layer]
        frames = np.atleast_1d(frames)
        for name, value in fields.items():
            np.add.at(self.counts[k, :, FIELD[name]], frames, value)

    def total(self, field: str, layer: str | None = None) -> int:
        col = self.counts[..., FIELD[field]]
        return int(col[self.index[layer]].sum() if layer else col.sum())

    def per_layer(self) -> np.ndarray:
        """[n_layers, n_fields] totals over frames."""
        return self.counts.sum(axis=1)
