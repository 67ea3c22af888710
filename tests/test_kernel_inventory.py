"""Every public Numba kernel is exercised by a test (against its NumPy twin), or is an inner
helper of one that is (STYLE: each kernel has a twin in tests/reference/ and the tests compare
the two). A kernel added without a test fails here, by name."""
import importlib
import inspect
import pkgutil
import re
from pathlib import Path

import azsim.kernels

TESTS = Path(__file__).parent

# Helpers called only from inside other kernels: tested through their caller, which must be
# tested itself and must call them (both checked below).
INNER = {
    "count_effectual": "gemv_i8",         # the effectual-MAC count returned by gemv_i8/gemm_i8
    "cholesky_lower": "inverse_upper_cholesky",
    "golomb_params": "golomb_decode",
    "broadcast_cycle": "eie_schedule",    # the activation broadcast of the EIE-style queue
}


def _public_kernels():
    found = {}
    for info in pkgutil.iter_modules(azsim.kernels.__path__):
        mod = importlib.import_module(f"azsim.kernels.{info.name}")
        for name, obj in vars(mod).items():
            py = getattr(obj, "py_func", None)
            if py is not None and not name.startswith("_") and py.__module__ == mod.__name__:
                found[name] = obj
    return found


def _test_text():
    """The other test files' code with comments dropped: a kernel named only in a comment
    is not tested."""
    return "\n".join(line.split("#", 1)[0]
                     for p in sorted(TESTS.glob("test_*.py")) if p.name != Path(__file__).name
                     for line in p.read_text().splitlines())


def test_the_inventory_finds_the_kernels():
    kernels = _public_kernels()
    assert {"gemv_i8", "lstm_sequence", "gptq_round", "eie_schedule"} <= set(kernels)
    assert len(kernels) >= 20


def test_every_public_kernel_is_tested_or_inside_a_tested_one():
    kernels = _public_kernels()
    text = _test_text()

    def tested(name):
        return re.search(rf"\b{name}\(", text) is not None     # called, not just named

    untested = sorted(n for n in kernels if n not in INNER and not tested(n))
    assert not untested, f"kernels no test calls: {untested} (add a twin test, or list an inner helper in INNER)"
    for helper, caller in INNER.items():
        assert helper in kernels, f"INNER lists {helper}, which is no longer a kernel"
        assert tested(caller), f"{helper}'s caller {caller} is not tested"
        caller_module = inspect.getsource(inspect.getmodule(kernels[caller].py_func))
        assert re.search(rf"\b{helper}\(", caller_module), f"{caller}'s module does not call {helper}"
