"""Small I/O helpers: the cache directory and atomic writes."""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

#: Environment variable overriding the cache directory.
CACHE_ENV = "CELLVAE_CACHE"


def cache_dir() -> Path:
    """``$CELLVAE_CACHE`` or ``~/.cache/cellvae``; created on first use.

    Returns
    -------
    pathlib.Path
        The cache directory (``~`` expanded), created with its parents if missing.
    """
    d = Path(os.environ.get(CACHE_ENV) or Path.home() / ".cache" / "cellvae").expanduser()
    d.mkdir(parents=True, exist_ok=True)
    return d


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike):
    """Yield a temporary path beside ``path``; rename it over ``path`` only on success.

    Readers never see a half-written file, and a failed write leaves the old one.

    Parameters
    ----------
    path
        Final destination file; its parent directories are created if missing.

    Yields
    ------
    pathlib.Path
        A fresh temporary file in ``path``'s directory to write to.  It replaces
        ``path`` when the ``with`` block exits normally and is deleted otherwise.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        yield Path(tmp)
        os.replace(tmp, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
