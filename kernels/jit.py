"""JIT flags in one place (STYLE.md, from STUMPY/PyNNDescent).

``cache=True`` keeps compiled machine code next to the installed package so that CI and the
CLI pay numba's compile time once per install, not once per process. ``fastmath`` stays off:
the kernels are integer and must be bit-exact.
"""
import numba

jit = numba.njit(cache=True, nogil=True, fastmath=False, error_model="numpy")
