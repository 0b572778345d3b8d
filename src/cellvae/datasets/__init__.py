"""Real data shipped with cellvae: the 600-cell BMMC CITE-seq starter subset of GSE194122.

The two files (gene expression and surface proteins of the same cells) come from the Open
Problems NeurIPS 2021 starter kit under its MIT licence; ``data/LICENSE`` and
``data/README.md`` beside this module give the licence and the source.  Each file is checked
against its sha256 before it is read, so a damaged or altered copy is refused with a one-line
error instead of being analysed.

>>> from cellvae.datasets import bmmc_starter
>>> bmmc_starter()                      # doctest: +SKIP
AnnData object with n_obs × n_vars = 600 × 1000 ...
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import anndata as ad

from ..data import DataError, read_h5ad

__all__ = ["STARTER_FILES", "bmmc_starter", "starter_path"]

#: The shipped starter files by modality: file name and sha256 of its bytes.
STARTER_FILES = {
    "gex": ("bmmc_cite_starter_gex.h5ad", "e111b6ad48f7236b9291dab56d0aa2ebcc1a5f8d1d402fa232d9bfe3d1af6f61"),
    "adt": ("bmmc_cite_starter_adt.h5ad", "ad4df05778c27c930bdb9764452af0fa381cbd9b3fb8de669420148f20fb1fed"),
}

_DATA = Path(__file__).resolve().parent / "data"


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def starter_path(modality: str = "gex") -> Path:
    """Path of a shipped starter file, after checking its sha256.

    Parameters
    ----------
    modality
        ``"gex"`` (gene expression, 1000 genes) or ``"adt"`` (134 surface proteins).

    Returns
    -------
    pathlib.Path
        The verified file inside the installed package; usable as ``CELLVAE_DATA``.

    Raises
    ------
    ValueError
        If ``modality`` is not one of :data:`STARTER_FILES`.
    DataError
        If the file is missing or its sha256 differs from the one recorded.
    """
    if modality not in STARTER_FILES:
        raise ValueError(f"modality must be one of {sorted(STARTER_FILES)}, got {modality!r}")
    name, expected = STARTER_FILES[modality]
    path = _DATA / name
    if not path.is_file():
        raise DataError(f"the shipped starter file {path} is missing; reinstall cellvae")
    got = _sha256(path)
    if got != expected:
        raise DataError(f"{path} fails its sha256 check (expected {expected[:12]}..., got "
                        f"{got[:12]}...); the copy is damaged or altered: reinstall cellvae")
    return path


def bmmc_starter(*, modality: str = "gex") -> ad.AnnData:
    """The real 600-cell BMMC CITE-seq starter subset (GEO GSE194122), verified by sha256.

    Parameters
    ----------
    modality
        ``"gex"`` for the 600 x 1000 gene-expression AnnData, ``"adt"`` for the 600 x 134
        surface proteins of the same cells.

    Returns
    -------
    anndata.AnnData
        The file as distributed: raw counts in ``layers['counts']``, normalised values in
        ``X``, starter-style obs names (``cellvae.data.prepare`` harmonises them).

    Raises
    ------
    ValueError, DataError
        As :func:`starter_path`.
    """
    return read_h5ad(starter_path(modality))
