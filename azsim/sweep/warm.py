"""Work every sweep worker would repeat, done once in the fork server before it forks them.

Imported by the fork server (``set_forkserver_preload``, :mod:`azsim.sweep.pool`): whatever
it loads, each forked worker inherits for free. Measured here (small model, one thread, numba
cache warm): a worker's first point took 0.7 s longer than its second, 0.6 s of it numba
loading its typing and lowering registries (which imports ``numba.np.arraymath`` and through
it ``scipy.linalg``) and 0.2 s unpickling and linking the kernels' cached machine code. With
two workers that was paid twice in parallel; here it is paid once, while the parent still
validates the sweep.

Kernels compiled with ``parallel=True``, and kernels that call them, are left alone: loading
their code starts numba's OpenMP threads, and GNU OpenMP aborts a process forked after that
("fork() called from a process already using GNU OpenMP, this is unsafe"). They load in the
worker, on first use, as before.

Nothing here changes a result: it fills caches that the first call would fill. Any failure
(a numba without these internals, a stale or missing cache) leaves the work to the workers.
"""
from __future__ import annotations

import importlib
import pkgutil

__all__ = ["warm_numba", "fork_safe_dispatchers"]


def _callees(disp) -> list:
    """Dispatchers a jit function names among its globals (the functions it may call)."""
    from numba.core.registry import CPUDispatcher

    fn = disp.py_func
    return [g for name in fn.__code__.co_names
            if isinstance(g := fn.__globals__.get(name), CPUDispatcher)]


def fork_safe_dispatchers() -> list:
    """azsim's numba kernels whose code can load without starting threads: neither
    ``parallel=True`` nor calling, at any depth, a kernel that is."""
    from numba.core.registry import CPUDispatcher

    from .. import kernels

    found: dict[int, object] = {}
    for info in pkgutil.iter_modules(kernels.__path__):
        mod = importlib.import_module(f"{kernels.__name__}.{info.name}")
        for obj in vars(mod).values():
            if isinstance(obj, CPUDispatcher) and obj.__module__ == mod.__name__:
                found[id(obj)] = obj

    unsafe: dict[int, bool] = {}

    def is_unsafe(d, path=()) -> bool:
        if id(d) in unsafe:
            return unsafe[id(d)]
        if id(d) in path:          # recursion: decided by the other members of the cycle
            return False
        bad = bool(d.targetoptions.get("parallel")) or any(
            is_unsafe(c, path + (id(d),)) for c in _callees(d))
        unsafe[id(d)] = bad
        return bad

    return [d for d in found.values() if not is_unsafe(d)]


def warm_numba() -> int:
    """Load numba's registries and the fork-safe kernels' cached code; the number of
    compiled signatures loaded (0 if numba's internals differ from what this expects)."""
    try:
        from numba.core.registry import cpu_target

        cpu_target.target_context.refresh()
        cpu_target.typing_context.refresh()
        magic = cpu_target.target_context.codegen().magic_tuple()
        loaded = 0
        for disp in fork_safe_dispatchers():
            cache = getattr(disp, "_cache", None)
            if cache is None or not hasattr(cache, "_cache_file"):
                continue
            for key in cache._cache_file._load_index():   # {} when the cache is stale
                if isinstance(key, tuple) and len(key) > 1 and key[1] == magic:
                    disp.compile(key[0])
                    loaded += 1
        return loaded
    except Exception:  # noqa: BLE001 - an optimization only: the workers load on first use
        return 0


warm_numba()
