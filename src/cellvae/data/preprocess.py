"""Preparing BMMC data for the models: HVGs, normalisation, data variants and the split.

The same :func:`prepare` path runs on the real GEO file, on the Open Problems
starter subset and on :func:`cellvae.data.simulate.simulate_bmmc` output, so every
chapter of the report exercises the loader whichever data it runs on.
"""

from __future__ import annotations

import hashlib
import os

import anndata as ad
import numpy as np
import pandas as pd
import scipy.sparse as sp

from .io import read_h5ad
from .schema import DataError, harmonize_obs, validate

VARIANTS = ("raw", "preprocessed", "processed")
#: Cells per block when per-gene Pearson-residual moments are accumulated.
PEARSON_CHUNK = 4096


def select_hvgs(adata: ad.AnnData, n_top_genes: int) -> np.ndarray:
    """Indices of the top ``n_top_genes`` highly variable genes, in gene order.

    ``scanpy.pp.highly_variable_genes(flavor="seurat")`` on log1p(counts / size
    factor), sparse throughout.  The Seurat flavour on log data is what the
    original study ran (scanpy's default on the file's log-normalised ``X``);
    ``seurat_v3`` on counts would need scikit-misc and would pick other genes.

    Parameters
    ----------
    adata
        Cells x genes with raw counts in ``layers['counts']``.
    n_top_genes
        How many genes to keep; all genes when it is at least ``adata.n_vars``.

    Returns
    -------
    numpy.ndarray
        Sorted integer indices into ``adata.var_names``.
    """
    import scanpy as sc

    if n_top_genes >= adata.n_vars:
        return np.arange(adata.n_vars)
    logx = ad.AnnData(normalise(adata, log=True))
    sc.pp.highly_variable_genes(logx, flavor="seurat", n_top_genes=n_top_genes)
    return np.flatnonzero(logx.var["highly_variable"].to_numpy())


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


def pearson_residual_moments(counts, *, theta: float = 100.0,
                             chunk_size: int = PEARSON_CHUNK) -> tuple[np.ndarray, np.ndarray]:
    """Per-gene mean and variance of analytic Pearson residuals (Lause et al. 2021).

    Residuals ``(x - mu) / sqrt(mu + mu^2 / theta)`` with ``mu = n_c p_g``, clipped at
    sqrt(n_cells), accumulated over blocks of ``chunk_size`` cells so that memory stays
    at one dense block.  Hand-written because scanpy returns the residual matrix
    (dense, cells x genes) or only the residual variance, not both moments in chunks.

    Parameters
    ----------
    counts
        Cells x genes raw counts, sparse or dense.
    theta
        Overdispersion of the null NB model (100, as scanpy's default).
    chunk_size
        Cells per dense block.

    Returns
    -------
    tuple of numpy.ndarray
        Per-gene mean and per-gene (population) variance of the residuals.
    """
    x = sp.csr_matrix(counts, dtype=np.float64)
    cell_tot = np.asarray(x.sum(1)).ravel()
    gene_p = np.asarray(x.sum(0)).ravel() / max(x.sum(), 1.0)
    clip = np.sqrt(x.shape[0])
    s1, s2 = np.zeros(x.shape[1]), np.zeros(x.shape[1])
    for start in range(0, x.shape[0], chunk_size):
        mu = cell_tot[start:start + chunk_size, None] * gene_p[None, :]
        r = (x[start:start + chunk_size].toarray() - mu) / np.sqrt(np.maximum(mu + mu**2 / theta, 1e-300))
        r = np.clip(r, -clip, clip)
        s1 += r.sum(0)
        s2 += (r * r).sum(0)
    mean = s1 / x.shape[0]
    return mean, np.maximum(s2 / x.shape[0] - mean**2, 0.0)


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

    Parameters
    ----------
    adata
        Raw data with counts in ``layers['counts']``; not modified (a copy is made).
        If ``var['feature_types']`` exists, only ``"GEX"`` features are kept.
    n_top_genes
        Number of highly variable genes to keep (see :func:`select_hvgs`).
    test_fraction
        Fraction of cells marked ``"test"`` (see :func:`split_cells`).
    seed
        Seed of the train/test split.

    Returns
    -------
    anndata.AnnData
        Copy with obs harmonised to the GEO schema, float32 CSR counts in both ``X``
        and ``layers['counts']``, ``obs['split']`` and the settings plus
        :func:`fingerprint` in ``uns['cellvae']``.

    Raises
    ------
    DataError
        If the data fail :func:`~cellvae.data.schema.validate` or the split is invalid.
    """
    if "feature_types" in adata.var:
        adata = adata[:, adata.var["feature_types"].astype(str) == "GEX"]
    adata = adata.copy()
    harmonize_obs(adata)
    validate(adata, n_top_genes=n_top_genes)
    adata.layers["counts"] = sp.csr_matrix(adata.layers["counts"], dtype=np.float32)
    adata = adata[:, select_hvgs(adata, n_top_genes)].copy()
    test = split_cells(adata.n_obs, test_fraction=test_fraction, seed=seed)
    adata.obs["split"] = pd.Categorical(np.where(test, "test", "train"), ["train", "test"])
    adata.X = adata.layers["counts"].copy()
    adata.uns["cellvae"] = {"n_top_genes": n_top_genes, "test_fraction": test_fraction,
                            "split_seed": seed, "fingerprint": fingerprint(adata)}
    return adata


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
    return prepare(read_h5ad(path), n_top_genes=n_top_genes, test_fraction=test_fraction, seed=seed)


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
    for arr in (x.indptr, x.indices, x.data.astype(np.float32)):
        h.update(np.ascontiguousarray(arr).tobytes())
    h.update("\0".join(adata.obs_names).encode())
    h.update("\0".join(adata.var_names).encode())
    return h.hexdigest()[:16]
