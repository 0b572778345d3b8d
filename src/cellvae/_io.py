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


def _umask() -> int:
    mask = os.umask(0o022)  # the only portable way to read it is to set it ...
    os.umask(mask)          # ... and put it back at once
    return mask


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike):
    """Yield a temporary path beside ``path``; rename it over ``path`` only on success.

    Readers never see a half-written file, and a failed write leaves the old one.  The
    file is flushed to disk before the rename, and it gets the permissions a plain
    ``open(path, "w")`` would give (the old file's, else 0o666 less the umask), not
    the 0o600 of a temporary file.

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
        os.chmod(tmp, path.stat().st_mode & 0o7777 if path.exists() else 0o666 & ~_umask())
        fd = os.open(tmp, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
