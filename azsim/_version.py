"""azsim's version, and the fingerprint of the code that computes its numbers."""
import functools
import hashlib
import importlib.util
from pathlib import Path

__version__ = "0.1.0"


@functools.lru_cache(maxsize=1)
def code_version() -> str:
    """``__version__`` plus the first 12 hex digits of a SHA-256 over azsim's Python sources
    (the ``azsim`` and ``azsim.kernels`` packages, by relative path). The release number has
    not changed while the cost model has, so a sweep resumed after an update mixed numbers of
    two models under one key; the results store records this instead, and ``azsim sweep
    --resume`` runs points stored by other code again."""
    digest = hashlib.sha256()
    for package in ("azsim", "azsim.kernels"):
        spec = importlib.util.find_spec(package)
        root = Path(spec.origin).parent
        for path in sorted(root.rglob("*.py")):
            if package == "azsim" and "kernels" in path.relative_to(root).parts[:1]:
                continue   # an installed azsim/kernels is the second package
            digest.update(f"{package}/{path.relative_to(root).as_posix()}\0".encode())
            digest.update(path.read_bytes())
    return f"{__version__}+{digest.hexdigest()[:12]}"
