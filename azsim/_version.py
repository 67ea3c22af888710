"""azsim's version, and the fingerprint of the code that computes its numbers."""
import functools
import hashlib
import importlib.util
from pathlib import Path

__version__ = "0.1.0"


# Sources that present, store or train but compute no part of a run's record: a change to
# them leaves every stored point valid (relative to the azsim package).
_PRESENTATION = ("cli.py", "cli_context.py", "cli_sweep.py", "cli_train.py", "cli_types.py",
                 "plot/", "train/", "report/render.py", "report/render_decode.py",
                 "report/sweep_report.py", "sweep/analysis.py", "sweep/checks.py",
                 "sweep/export.py", "sweep/pool.py", "sweep/runner.py", "sweep/store.py",
                 "sweep/warm.py", "_version.py")


@functools.lru_cache(maxsize=1)
def code_version() -> str:
    """``__version__`` plus the first 12 hex digits of a SHA-256 over the Python sources that
    compute a run's record (the ``azsim`` and ``azsim.kernels`` packages by relative path,
    less :data:`_PRESENTATION`) and the shipped audio and test data. The release number has
    not changed while the cost model has, so a sweep resumed after an update mixed numbers
    of two models under one key; the
    results store records this instead, and ``azsim sweep --resume`` runs points stored by
    other code again."""
    roots = {package: Path(importlib.util.find_spec(package).origin).parent
             for package in ("azsim", "azsim.kernels")}
    return f"{__version__}+{fingerprint(roots)}"


def fingerprint(roots: dict) -> str:
    """The first 12 hex digits of the SHA-256 of :func:`code_version`, over the packages at
    ``roots`` (package name -> folder)."""
    digest = hashlib.sha256()
    for package, root in roots.items():
        for path in sorted(Path(root).rglob("*.py")):
            rel = path.relative_to(root).as_posix()
            if package == "azsim" and (rel.startswith("kernels/")   # installed: the 2nd package
                                       or rel.startswith(_PRESENTATION)):
                continue
            digest.update(f"{package}/{rel}\0".encode())
            digest.update(path.read_bytes())
    # The shipped data a record depends on beside the code: the calibration utterances that
    # set every --test point's activation ranges, the shipped audio and its transcripts. A
    # swapped calibration.npz had left --resume with points of both under one key (a sweep
    # audit, 2026-12-06). The shipped weights are in the keys already (their hashes).
    data = Path(roots["azsim"]) / "data"
    for folder in ("audio", "testset"):
        for path in sorted((data / folder).glob("*")):
            if path.is_file():
                digest.update(f"azsim/data/{folder}/{path.name}\0".encode())
                digest.update(path.read_bytes())
    return digest.hexdigest()[:12]
