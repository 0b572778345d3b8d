"""A Sphinx extension that executes the book's chapters in parallel, one per CPU core.

``jupyter-book build book`` reads (and so executes) pages one after another: Jupyter Book
1.0 gives Sphinx one process and its command line has no ``-j``.  The chapters only read
caches that ``cellvae-grid`` filled, so each is a kernel start, imports and plotting, and
one core idles while the other works.  This extension raises Sphinx's process count to
:func:`~cellvae.study.local.default_jobs` (``$CELLVAE_JOBS``, else every core), so pages
are read in forked processes in parallel.  myst-nb declares itself safe for that.  Sphinx
reads serially if any extension has not declared itself safe; two that Jupyter Book loads
have not, and are marked safe here (see :data:`CHECKED_SAFE`).  myst-nb's execution cache
is created before the fork, since two pages would otherwise race to create its tables.
``CELLVAE_JOBS=1`` keeps the build serial.

Enable it in ``_config.yml`` under ``sphinx: extra_extensions``.
"""

from __future__ import annotations

#: Extensions that Jupyter Book 1.0 loads without declaring parallel reading safe, read
#: and found safe: ``sphinx_multitoc_numbering`` only replaces the section numbering that
#: Sphinx runs in the main process after every page is read and merged;
#: ``sphinx_jupyterbook_latex`` sets its state at ``builder-inited`` (before the fork) and
#: its transforms act on LaTeX builds only.
CHECKED_SAFE = ("sphinx_multitoc_numbering", "sphinx_jupyterbook_latex")


def _parallel(app, config) -> None:
    from .local import default_jobs

    jobs = default_jobs()
    if jobs < 2 or app.parallel >= jobs:
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

    from .datasource import execution_cache_dir

    get_cache(execution_cache_dir(app)).list_cache_records()  # opens the database, making its tables


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
