"""A Sphinx extension that re-executes every chapter when the book's data change.

myst-nb's execution cache keys a notebook on its code, not on ``$CELLVAE_DATA``: after a
build on the simulator, a build with ``CELLVAE_DATA`` set (or the other way round) would
serve the old outputs, and every page would name the wrong data.  This extension records
which data the last build ran on (the path, size and modification time of the file, or
"simulator") beside the execution cache; when that differs, it empties the cache and
marks every page as outdated, so Sphinx re-reads and myst-nb re-executes them all.

Enable it in ``_config.yml`` under ``sphinx: extra_extensions``.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from ..data import ENV_VAR

#: File beside the execution cache that names the data of the last build.
STAMP = "cellvae-data.txt"


def data_identity() -> str:
    """Which data a build now runs on: ``simulator``, or the file's path, size and mtime.

    Returns
    -------
    str
        One line; equal for two builds exactly when they read the same data.
    """
    path = os.environ.get(ENV_VAR)
    if not path:
        return "simulator"
    p = Path(path).expanduser().resolve()
    try:
        st = p.stat()
    except OSError:
        return f"{p} (unreadable)"  # the chapter then reports the loader's error
    return f"{p} {st.st_size} {st.st_mtime_ns}"


def refresh(cache_dir: Path, identity: str) -> bool:
    """Empty ``cache_dir`` if its stamp names other data; write the stamp.

    Parameters
    ----------
    cache_dir
        myst-nb's execution cache folder.
    identity
        :func:`data_identity` of this build.

    Returns
    -------
    bool
        True if the data changed since the last build (the cache was emptied).
    """
    cache_dir = Path(cache_dir)
    stamp = cache_dir.parent / STAMP
    before = stamp.read_text() if stamp.is_file() else None
    changed = before != identity
    if changed:
        shutil.rmtree(cache_dir, ignore_errors=True)
        stamp.parent.mkdir(parents=True, exist_ok=True)
        tmp = stamp.with_suffix(".tmp")
        tmp.write_text(identity)
        tmp.replace(stamp)
    return changed


def _on_builder_inited(app) -> None:
    cache = getattr(app.env, "mystnb_config", None)
    cache_dir = Path(cache.execution_cache_path) if cache and cache.execution_cache_path else (
        Path(app.outdir).parent / ".jupyter_cache")
    app.env.cellvae_data_changed = refresh(cache_dir, data_identity())


def _outdated(app, env, added, changed, removed) -> list[str]:
    if getattr(env, "cellvae_data_changed", False):
        return sorted(env.found_docs)  # every page re-read, so every chapter re-executes
    return []


def setup(app) -> dict:
    """Register the extension (Sphinx entry point).

    Parameters
    ----------
    app
        The Sphinx application.

    Returns
    -------
    dict
        Extension metadata: safe for parallel reading and writing.
    """
    app.connect("builder-inited", _on_builder_inited, priority=600)  # after myst-nb sets its paths
    app.connect("env-get-outdated", _outdated)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
