"""azsim: codesign simulator for on-device RNN-T speech recognition on neural edge processors.

Public API (the CLI is a thin layer over it)::

    import azsim
    report = azsim.simulate(model="small", hardware="az-edge", audio=None, bits=8)
    report.to_dict()

The library never prints; ``azsim.cli`` owns all output.
"""
from ._version import __version__

__all__ = ["__version__", "simulate"]


def simulate(*args, **kwargs):
    """Run a model on audio and cost it on a processor; see :func:`azsim.api.simulate`."""
    from .api import simulate as _simulate
    return _simulate(*args, **kwargs)


# The README's API names these as attributes of the package (azsim.evaluate.evaluate_sets,
# azsim.validate.load_suite, azsim.errors.AzsimError); imported when first used, so that
# `import azsim` stays light (they raised AttributeError until 2026-12-07: an API audit).
_SUBMODULES = ("evaluate", "validate", "errors", "report")


def __getattr__(name: str):
    if name in _SUBMODULES:
        import importlib
        return importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module 'azsim' has no attribute {name!r}")
