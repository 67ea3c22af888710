"""Every public Numba kernel has a NumPy twin in tests/reference/ and a test file that calls
both, or is an inner helper of one that has (STYLE: each kernel has a twin and the tests
compare the two). A kernel added without a twin or a test fails here, by name."""
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

# Twins named otherwise than their kernel ("module.function" in tests/reference/); every
# other kernel's twin has its name in one of the reference modules.
TWINS = {
    "gemv_i8": "kernels_np.gemv", "gemm_i8": "kernels_np.gemm",
    "requantize_i32": "kernels_np.requantize", "requantize_scalar": "kernels_np.requantize",
    "saturate_i16": "kernels_np.sat16", "matmul_kn": "kernels_np.matmul_nt",
    "eie_column_entries": "eie_np.column_entries", "eie_schedule": "eie_np.schedule",
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


def _reference_functions():
    """``{"module.function": module}`` of the public functions in tests/reference/."""
    found = {}
    for path in sorted((TESTS / "reference").glob("*_np.py")):
        mod = importlib.import_module(f"reference.{path.stem}")
        for name, obj in vars(mod).items():
            if callable(obj) and not name.startswith("_") and \
                    getattr(obj, "__module__", None) == mod.__name__:
                found[f"{path.stem}.{name}"] = obj
    return found


def _twin_of(kernel, reference):
    if kernel in TWINS:
        return TWINS[kernel]
    same = [key for key in reference if key.split(".")[1] == kernel]
    return same[0] if len(same) == 1 else None


def test_every_public_kernel_has_a_twin_and_a_test_calling_both():
    """Before 2026-12-06 "tested" meant only that some test called the name (a twin's call
    ``R.gemv(`` counted for the kernel); now a test file must call the kernel itself (not
    as ``R.name(``) and its twin through the alias it imports the twin's module as."""
    kernels, reference = _public_kernels(), _reference_functions()
    missing, uncompared = [], []
    for name in sorted(set(kernels) - set(INNER)):
        twin = _twin_of(name, reference)
        if twin not in reference:
            missing.append(name)
            continue
        module, func = twin.split(".")
        for path in sorted(TESTS.glob("test_*.py")):
            code = "\n".join(line.split("#", 1)[0] for line in path.read_text().splitlines())
            aliases = re.findall(rf"from reference import {module} as (\w+)", code)
            calls_kernel = re.search(rf"(?<![\w.])(?:K\.)?{name}\(|\bkernels\.{name}\(", code)
            if calls_kernel and any(re.search(rf"\b{a}\.{func}\(", code) for a in aliases):
                break
        else:
            uncompared.append(f"{name} (twin {twin})")
    assert not missing, \
        f"kernels without a twin in tests/reference/: {missing} (or map it in TWINS)"
    assert not uncompared, f"no test file calls both the kernel and its twin: {uncompared}"
