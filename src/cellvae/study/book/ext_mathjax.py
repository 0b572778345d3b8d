"""A Sphinx extension that serves MathJax 3 from the install, so math renders offline.

Sphinx loads MathJax from a CDN by default; offline, or behind a firewall, the theory
chapter then shows raw ``\\( ... \\)``.  The PyPI package ``django-static-mathjax``
(a ``[book]`` dependency, Apache-2.0) ships MathJax 3.2.2 as plain files.  This extension
points ``mathjax_path`` at ``_static/mathjax/tex-chtml.js`` and copies the files the
CommonHTML output needs into the built site.  Nothing is copied into the repository.

Enable it in ``_config.yml`` under ``sphinx: extra_extensions``.
"""

from __future__ import annotations

import shutil
from pathlib import Path

#: The MathJax component loaded by every page with math: TeX input, CommonHTML output.
ENTRY = "tex-chtml.js"
#: Folder under ``_static`` of the built site.
TARGET = "mathjax"
#: Bundles that ``tex-chtml.js`` never loads (other inputs and outputs, speech rules).
_UNUSED = ("sre", "*svg*", "*-full*", "mml-*.js", "tex-mml-*.js", "node-main.js", "latest.js")


def mathjax_dir() -> Path:
    """The installed MathJax 3 ``es5`` folder.

    Returns
    -------
    pathlib.Path
        The folder holding ``tex-chtml.js``.

    Raises
    ------
    RuntimeError
        If ``django-static-mathjax`` is not installed.
    """
    try:
        from importlib.resources import files

        d = Path(str(files("mathjax"))) / "static" / "mathjax" / "es5"
    except ModuleNotFoundError:
        d = None
    if d is None or not (d / ENTRY).is_file():
        raise RuntimeError("MathJax 3 not found: pip install django-static-mathjax (cellvae[book])")
    return d


def _configure(app, config) -> None:
    mathjax_dir()  # fail at the start of the build, not after it
    config.mathjax_path = f"{TARGET}/{ENTRY}"  # relative paths are relative to _static


def _copy(app, exception) -> None:
    if exception is None and app.builder.format == "html":
        dest = Path(app.outdir) / "_static" / TARGET
        shutil.copytree(mathjax_dir(), dest, dirs_exist_ok=True, ignore=shutil.ignore_patterns(*_UNUSED))


def setup(app) -> dict:
    """Register the extension with Sphinx.

    Parameters
    ----------
    app
        The Sphinx application.

    Returns
    -------
    dict
        Extension metadata (safe for parallel reads and writes).
    """
    app.connect("config-inited", _configure, priority=900)
    app.connect("build-finished", _copy)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
