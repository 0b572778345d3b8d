"""A Sphinx extension that executes the book's chapters in parallel after a complete grid run.

``jupyter-book build book`` reads (and so executes) pages one after another: Jupyter Book
1.0 gives Sphinx one process and its command line has no ``-j``.  Once ``cellvae-grid`` has
filled the caches, each chapter is a kernel start, imports and plotting, and one core idles
while the other works.  This extension then raises Sphinx's process count to
:func:`~cellvae.study.runner.pool.default_jobs` (``$CELLVAE_JOBS``, else every core), so pages are
read in forked processes in parallel.

It does so only when :func:`grid_complete` says ``cellvae-grid`` finished on this data with
this code: otherwise chapters that train would train the same missing runs at once, once
per process, so the build stays serial and the first chapter fills the cache for the rest.
Sphinx also reads serially when five or fewer pages are outdated.

myst-nb declares itself safe for parallel reading.  Two extensions that Jupyter Book loads
do not declare either way and are marked safe here (:data:`CHECKED_SAFE`).  myst-nb's
execution cache is created before the fork, since two pages would otherwise race to create
its tables.  ``CELLVAE_JOBS=1`` keeps the build serial; it also shows a failing cell's
traceback, which Sphinx's parallel reader does not pass on.

Enable it in ``_config.yml`` under ``sphinx: extra_extensions``.
"""

from __future__ import annotations

from pathlib import Path

from ..._io import atomic_path, cache_dir

#: Extensions that Jupyter Book 1.0 loads without declaring parallel reading safe, read
#: and found safe: ``sphinx_multitoc_numbering`` only replaces the section numbering that
#: Sphinx runs in the main process after every page is read and merged;
#: ``sphinx_jupyterbook_latex`` sets its state at ``builder-inited`` (before the fork), and
#: its read-time transforms touch only the page being read.
CHECKED_SAFE = ("sphinx_multitoc_numbering", "sphinx_jupyterbook_latex")
#: File in the run cache that names the data and code of the last complete ``cellvae-grid``.
STAMP = "grid-complete.txt"


def grid_identity() -> str:
    """The book's data and what the package's code does, less its text.

    The code counts as syntax trees without docstrings, comments or the text of string
    constants (:func:`~cellvae.study.runner.cache.code_digest` with ``strings=False``):
    rewording a sentence, a caption or a column name leaves the grid complete, so the
    chapters still run in parallel and ``cellvae-grid`` need not check every cache again.
    An edit that did change which runs or scores a chapter reads costs time, never a wrong
    number: every cache is keyed by content, and a chapter computes what it misses.

    Returns
    -------
    str
        Equal for two calls exactly when the data, the version and that code are.
    """
    from ... import __version__
    from ..runner.cache import tree_digest
    from .ext_datasource import data_source

    return f"{data_source()} cellvae={__version__} code={tree_digest(('',), code_only=True, strings=False)}"


def mark_grid_complete() -> None:
    """Record that ``cellvae-grid`` filled every cache the chapters read (atomic write)."""
    path = cache_dir() / STAMP
    with atomic_path(path) as tmp:
        Path(tmp).write_text(grid_identity())


def grid_complete() -> bool:
    """Whether the last complete ``cellvae-grid`` ran on this data with this code.

    Returns
    -------
    bool
    """
    path = cache_dir() / STAMP
    return path.is_file() and path.read_text() == grid_identity()


def _parallel(app, config) -> None:
    from ..runner.pool import default_jobs

    jobs = default_jobs()
    if jobs < 2 or app.parallel >= jobs or not grid_complete():
        return
    for name in CHECKED_SAFE:
        ext = app.extensions.get(name)
        if ext is not None and ext.parallel_read_safe is None:
            ext.parallel_read_safe = True
    app.parallel = jobs


def _create_cache(app) -> None:
    """Create myst-nb's execution cache before the fork: two pages would race to make its tables."""
    nb = getattr(app.env, "mystnb_config", None)
    if app.parallel < 2 or nb is None or nb.execution_mode != "cache":
        return
    from jupyter_cache import get_cache

    from .ext_datasource import execution_cache_dir

    cache = get_cache(execution_cache_dir(app))
    cache.list_cache_records()  # opens the database, making its tables
    cache.db.dispose()  # no open SQLite connection is carried across the fork


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
    app.connect("config-inited", _parallel)  # every extension is loaded by then
    app.connect("builder-inited", _create_cache, priority=700)  # after datasource may empty it
    return {"parallel_read_safe": True, "parallel_write_safe": True}
