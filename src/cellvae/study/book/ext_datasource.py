"""A Sphinx extension that re-executes every chapter when the book's data or cellvae's code change.

myst-nb's execution cache keys a notebook on its code, not on ``$CELLVAE_DATA`` or on the
package it calls: after a build on the simulator, a build with ``CELLVAE_DATA`` set (or the
other way round) would serve the old outputs, and every page would name the wrong data; after
an edit to cellvae, its sentences and tables would be the old code's.  This extension names
the data and code of a build (:func:`data_identity`: the file's path, size and modification
time, or the simulator's settings, with a digest of cellvae's source).  When that differs
from the last build's:

- the execution cache is emptied (decided by a stamp file beside it, written right after
  the wipe, so the cache never holds outputs of two data sets);
- every page is marked outdated, so Sphinx re-reads it and myst-nb re-executes it (decided
  by the identity stored in Sphinx's environment, which Sphinx saves only after a complete
  read: a failed or interrupted build is redone in full next time).

It also stops a build whose data cannot be used with the loader's one-line error
(:func:`check_data`), before any chapter runs.

Enable it in ``_config.yml`` under ``sphinx: extra_extensions``.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

from ...data import ENV_VAR

#: File beside the execution cache that names the data of the last build.
STAMP = "cellvae-data.txt"


def data_identity() -> str:
    """Which data a build now runs on, and with which code, as one line.

    Returns
    -------
    str
        ``file <path> <size> <mtime>`` for ``$CELLVAE_DATA``, else ``simulator`` with
        :data:`~cellvae.study.runner.bookdata.BOOK_SIM` and the HVG count; the cellvae version and a
        digest of every ``.py`` file of cellvae are appended.  Equal for two builds exactly
        when they read the same data the same way with the same code.
    """
    from ... import __version__
    from ..runner.cache import tree_digest

    return f"{data_source()} cellvae={__version__} source={tree_digest(('',))}"


def data_source() -> str:
    """Which data a build now runs on, as one line (:func:`data_identity` without the code).

    Returns
    -------
    str
        ``file <path> <size> <mtime>`` for ``$CELLVAE_DATA``, else ``simulator`` with
        :data:`~cellvae.study.runner.bookdata.BOOK_SIM` and the HVG count.
    """
    from ..runner.bookdata import BOOK_HVGS_GEO, BOOK_HVGS_SIM, BOOK_SIM

    path = os.environ.get(ENV_VAR)
    if not path:
        return f"simulator {sorted(BOOK_SIM.items())} hvgs={BOOK_HVGS_SIM}"
    p = Path(path).expanduser().resolve()
    try:
        st = p.stat()
    except OSError:
        return f"file {p} (unreadable)"  # the chapter then reports the loader's error
    return f"file {p} {st.st_size} {st.st_mtime_ns} hvgs<={BOOK_HVGS_GEO}"


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


def execution_cache_dir(app) -> Path:
    """myst-nb's execution cache folder of this build.

    Parameters
    ----------
    app
        The Sphinx application, after ``builder-inited``.

    Returns
    -------
    pathlib.Path
    """
    cache = getattr(app.env, "mystnb_config", None)
    return Path(cache.execution_cache_path) if cache and cache.execution_cache_path else (
        Path(app.outdir).parent / ".jupyter_cache")


def check_data() -> None:
    """Stop the build with the loader's one-line error, before any chapter runs.

    A file that cannot be used (a missing column, cells without a batch, counts that are not
    counts) would otherwise fail in the first chapter, with a kernel's traceback.  The data is
    prepared once into the cache here (:func:`~cellvae.study.runner.bookdata.book_data`), which
    the chapters then read.

    Raises
    ------
    SystemExit
        Status 2, after ``cellvae: error: <message>`` on stderr, as the ``cellvae`` commands do.
    """
    from ...data import DataError
    from ..runner.bookdata import book_data

    try:
        book_data()
    except DataError as exc:
        print(f"cellvae: error: {exc}", file=sys.stderr)
        raise SystemExit(2) from None


def _on_builder_inited(app) -> None:
    check_data()
    refresh(execution_cache_dir(app), data_identity())


def _outdated(app, env, added, changed, removed) -> list[str]:
    identity = data_identity()
    if getattr(env, "cellvae_data", None) == identity:
        return []
    env.cellvae_data = identity  # saved with the environment only after every page is read
    return sorted(env.found_docs)  # every page re-read, so every chapter re-executes


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
