"""Preparing BMMC data for the models: HVGs, normalisation, data variants and the split.

The same :func:`prepare` path runs on the real GEO file, on the Open Problems
starter subset and on :func:`cellvae.data.simulate.simulate_bmmc` output, so every
chapter of the report exercises the loader whichever data it runs on.
"""

from __future__ import annotations

import copy
import hashlib
import os

import anndata as ad
import numpy as np
import pandas as pd
import scipy.sparse as sp

from .blocks import PEARSON_CHUNK, _row_blocks, normalised_blocks, seurat_dispersions
from .io import read_h5ad
from .schema import DataError, harmonize_obs, validate

VARIANTS = ("raw", "preprocessed", "processed")


def select_hvgs(adata: ad.AnnData, n_top_genes: int) -> np.ndarray:
    """Mark the top ``n_top_genes`` highly variable genes in ``var['highly_variable']``.

    The selection of ``scanpy.pp.highly_variable_genes(flavor="seurat")`` on
    log1p(counts / size factor), which is what the original study ran (scanpy's default on
    the file's log-normalised ``X``).  scanpy copies the whole matrix twice for it (the
    log data, then their ``expm1``); :func:`seurat_dispersions` computes the same per-gene
    statistics over blocks of cells instead, and a test checks that the genes chosen are
    scanpy's.  As scanpy does, the choice is written to ``adata.var['highly_variable']``
    (bool, replacing any such column); their indices are also returned, for subsetting.

    Parameters
    ----------
    adata
        Cells x genes with raw counts in ``layers['counts']``; ``var`` gains (or has
        replaced) the ``highly_variable`` column.
    n_top_genes
        How many genes to keep; all genes when it is at least ``adata.n_vars``.

    Returns
    -------
    numpy.ndarray
        Sorted integer indices into ``adata.var_names`` of the genes marked True,
        ``np.flatnonzero(adata.var['highly_variable'])``.
    """
    if n_top_genes >= adata.n_vars:
        keep = np.arange(adata.n_vars)
    else:
        norm = seurat_dispersions(adata.layers["counts"], size_factors(adata))
        disp = np.sort(norm[~np.isnan(norm)])[::-1]
        cut = disp[min(n_top_genes, disp.size) - 1]
        keep = np.flatnonzero(np.nan_to_num(norm, nan=-np.inf) >= cut)
    mark = np.zeros(adata.n_vars, dtype=bool)
    mark[keep] = True
    adata.var["highly_variable"] = mark
    return keep


def size_factors(adata: ad.AnnData) -> np.ndarray:
    """Per-cell size factors: the file's ``GEX_size_factors`` or library size / its mean.

    ``obs['GEX_size_factors']`` is used when present and all finite and positive;
    otherwise each cell's total of ``layers['counts']`` (0 taken as 1) over the mean.

    Parameters
    ----------
    adata
        Cells x genes with raw counts in ``layers['counts']``.

    Returns
    -------
    numpy.ndarray
        Float64 size factor per cell, length ``adata.n_obs``.
    """
    if "GEX_size_factors" in adata.obs:
        sf = adata.obs["GEX_size_factors"].to_numpy(dtype=np.float64)
        if np.all(np.isfinite(sf)) and np.all(sf > 0):
            return sf
    lib = np.asarray(adata.layers["counts"].sum(axis=1)).ravel().astype(np.float64)
    lib[lib == 0] = 1.0
    return lib / lib.mean()


def normalise(adata: ad.AnnData, *, log: bool) -> sp.csr_matrix:
    """counts / size factor ("preprocessed"), optionally log1p'd ("processed").

    Parameters
    ----------
    adata
        Cells x genes with raw counts in ``layers['counts']``.
    log
        Apply ``log1p`` to the normalised values.

    Returns
    -------
    scipy.sparse.csr_matrix
        Cells x genes, float32; see :func:`size_factors`.
    """
    x = sp.csr_matrix(adata.layers["counts"], dtype=np.float32)
    x = sp.csr_matrix(sp.diags(1.0 / size_factors(adata).astype(np.float32)) @ x)
    if log:
        x.data = np.log1p(x.data)
    return x


def get_variant(adata: ad.AnnData, variant: str) -> sp.csr_matrix:
    """Sparse matrix of one data variant.

    Parameters
    ----------
    adata
        Prepared data with ``layers['counts']``.
    variant
        ``"raw"`` (counts), ``"preprocessed"`` (counts / size factor) or
        ``"processed"`` (log1p of that).

    Returns
    -------
    scipy.sparse.csr_matrix
        Cells x genes, float32.

    Raises
    ------
    DataError
        For an unknown variant.
    """
    if variant == "raw":
        return sp.csr_matrix(adata.layers["counts"], dtype=np.float32)
    if variant == "preprocessed":
        return normalise(adata, log=False)
    if variant == "processed":
        return normalise(adata, log=True)
    raise DataError(f"unknown variant {variant!r}; choose one of {VARIANTS}")


def variant_blocks(adata: ad.AnnData, variant: str, *, chunk_size: int = PEARSON_CHUNK):
    """A data variant over blocks of cells, equal block by block to :func:`get_variant`.

    Parameters
    ----------
    adata
        Prepared data with ``layers['counts']``.
    variant
        One of :data:`VARIANTS`.
    chunk_size
        Cells per block.

    Yields
    ------
    scipy.sparse.csr_matrix
        float32 rows ``[start, start + chunk_size)`` of the variant; size factors are the
        whole data's (:func:`size_factors`), not the block's.

    Raises
    ------
    DataError
        For an unknown variant.
    """
    if variant not in VARIANTS:
        raise DataError(f"unknown variant {variant!r}; choose one of {VARIANTS}")
    counts = adata.layers["counts"]
    blocks = (_row_blocks(counts, chunk_size) if variant == "raw" else normalised_blocks(
        counts, size_factors(adata), log=variant == "processed", chunk_size=chunk_size))
    for _, blk in blocks:
        yield blk


def split_cells(n_obs: int, *, test_fraction: float = 0.2, seed: int = 0) -> np.ndarray:
    """Seeded boolean mask, True for test cells.

    Parameters
    ----------
    n_obs
        Number of cells.
    test_fraction
        Fraction of cells put in the test set (rounded to a whole count), in (0, 1).
    seed
        Seed of the random choice of test cells.

    Returns
    -------
    numpy.ndarray
        Boolean array of length ``n_obs``.

    Raises
    ------
    DataError
        If ``test_fraction`` is not strictly between 0 and 1, or the rounded split
        leaves the train or the test set empty.
    """
    if not 0.0 < test_fraction < 1.0:
        raise DataError(f"test_fraction must be in (0, 1), got {test_fraction}")
    n_test = int(round(n_obs * test_fraction))
    if n_test == 0 or n_test == n_obs:
        raise DataError(f"a {test_fraction} split of {n_obs} cells leaves an empty train or test set")
    mask = np.zeros(n_obs, dtype=bool)
    mask[np.random.default_rng(seed).choice(n_obs, n_test, replace=False)] = True
    return mask


def prepare(
    adata: ad.AnnData, *, n_top_genes: int = 5000, test_fraction: float = 0.2, seed: int = 0
) -> ad.AnnData:
    """GEX features only, validated, top HVGs, seeded train/test split in ``obs['split']``.

    Memory: the HVG statistics are computed over blocks of cells, and the only copy of the
    counts made is the HVG subset; ``X`` of the result is that same matrix, not a copy.

    Parameters
    ----------
    adata
        Raw data with counts in ``layers['counts']``; not modified.  If
        ``var['feature_types']`` exists, only ``"GEX"`` features are kept.  ``X`` and other
        layers are not carried over; ``obsm`` is.
    n_top_genes
        Number of highly variable genes to keep (see :func:`select_hvgs`).
    test_fraction
        Fraction of cells marked ``"test"`` (see :func:`split_cells`).
    seed
        Seed of the train/test split.

    Returns
    -------
    anndata.AnnData
        New AnnData with obs harmonised to the GEO schema, float32 CSR counts in
        ``layers['counts']`` (and, as the same matrix, in ``X``), ``obs['split']``, the
        settings plus :func:`fingerprint` in ``uns['cellvae']``, and only the selected genes,
        so ``var['highly_variable']`` (written by :func:`select_hvgs`) is True throughout,
        as after ``adata[:, adata.var['highly_variable']]`` in scanpy.

    Raises
    ------
    DataError
        If the data fail :func:`~cellvae.data.schema.validate` or the split is invalid.
    """
    if "counts" not in adata.layers:
        validate(adata)  # the one-line error for a missing counts layer
    gex = np.arange(adata.n_vars)
    if "feature_types" in adata.var:
        gex = np.flatnonzero(adata.var["feature_types"].astype(str).to_numpy() == "GEX")
    counts = adata.layers["counts"]
    if len(gex) < adata.n_vars:
        counts = sp.csr_matrix(counts)[:, gex]
    out = ad.AnnData(obs=adata.obs.copy(), var=adata.var.iloc[gex].copy(),
                     obsm={k: v.copy() for k, v in adata.obsm.items()}, uns=copy.deepcopy(dict(adata.uns)),
                     layers={"counts": counts})
    harmonize_obs(out)
    validate(out, n_top_genes=n_top_genes)
    keep = select_hvgs(out, n_top_genes)
    x = sp.csr_matrix(counts)[:, keep].astype(np.float32, copy=False)  # indexing copies
    out = ad.AnnData(obs=out.obs, var=out.var.iloc[keep].copy(), obsm=out.obsm, uns=out.uns,
                     layers={"counts": x})
    out.X = out.layers["counts"]
    test = split_cells(out.n_obs, test_fraction=test_fraction, seed=seed)
    out.obs["split"] = pd.Categorical(np.where(test, "test", "train"), ["train", "test"])
    out.uns["cellvae"] = {"n_top_genes": n_top_genes, "test_fraction": test_fraction,
                          "split_seed": seed, "fingerprint": fingerprint(out)}
    return out


def load_bmmc(
    path: str | os.PathLike | None = None,
    *,
    n_top_genes: int = 5000,
    test_fraction: float = 0.2,
    seed: int = 0,
) -> ad.AnnData:
    """Load the GEO file (path or ``$CELLVAE_DATA``) and :func:`prepare` it.

    Parameters
    ----------
    path
        ``.h5ad`` or ``.h5ad.gz`` file; ``None`` (default) reads ``$CELLVAE_DATA``.
    n_top_genes, test_fraction, seed
        Passed to :func:`prepare`.

    Returns
    -------
    anndata.AnnData
        The prepared data.

    Raises
    ------
    DataError
        If the file cannot be read (see :func:`~cellvae.data.io.read_h5ad`) or
        :func:`prepare` rejects it.
    """
    adata = read_h5ad(path, counts_only=True, feature_type="GEX")  # ADT never held in memory
    return prepare(adata, n_top_genes=n_top_genes, test_fraction=test_fraction, seed=seed)


def fingerprint(adata: ad.AnnData, layer: str = "counts") -> str:
    """Short sha256 of the counts, cell and gene names: the data part of cache keys.

    Parameters
    ----------
    adata
        Data to fingerprint.
    layer
        Layer holding the counts (default ``"counts"``); hashed as float32 CSR.

    Returns
    -------
    str
        First 16 hex digits of the digest.
    """
    x = sp.csr_matrix(adata.layers[layer])
    h = hashlib.sha256()
    for arr in (x.indptr, x.indices, x.data.astype(np.float32, copy=False)):
        h.update(np.ascontiguousarray(arr).tobytes())
    h.update("\0".join(adata.obs_names).encode())
    h.update("\0".join(adata.var_names).encode())
    return h.hexdigest()[:16]
