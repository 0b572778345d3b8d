"""Per-gene statistics accumulated over blocks of cells, so no full copy of the matrix exists."""

from __future__ import annotations

import numpy as np
import pandas as pd
import scipy.sparse as sp

#: Cells per block when per-gene statistics are accumulated.
PEARSON_CHUNK = 4096


def _row_blocks(x, chunk_size: int):
    """(start, float32 CSR block, a copy) over blocks of ``chunk_size`` rows of ``x``."""
    for start in range(0, x.shape[0], chunk_size):
        blk = x[start:start + chunk_size]
        yield start, (blk.astype(np.float32) if sp.issparse(blk) else sp.csr_matrix(blk, dtype=np.float32)).tocsr()


def normalised_blocks(counts, sf: np.ndarray, *, log: bool, chunk_size: int = PEARSON_CHUNK):
    """(start, block) of counts / size factor in float32, log1p'd if ``log``, as ``normalise``.

    Parameters
    ----------
    counts
        Cells x genes raw counts, sparse or dense.
    sf
        Per-cell size factors of all cells (not of the block).
    log, chunk_size
        Apply ``log1p``; cells per block.

    Yields
    ------
    tuple of int and scipy.sparse.csr_matrix
        The block's first row and its float32 values (a copy).
    """
    inv = (1.0 / np.asarray(sf, dtype=np.float32)).astype(np.float32)
    for start, blk in _row_blocks(counts, chunk_size):
        blk.data *= np.repeat(inv[start:start + blk.shape[0]], np.diff(blk.indptr))
        if log:
            blk.data = np.log1p(blk.data)
        yield start, blk


def seurat_dispersions(counts, sf: np.ndarray, *, n_bins: int = 20,
                       chunk_size: int = PEARSON_CHUNK) -> np.ndarray:
    """Per-gene normalised dispersion of scanpy's ``flavor="seurat"``, in blocks of cells.

    As scanpy: values ``expm1(log1p(x / sf))`` in float32, their per-gene mean and
    unbiased variance in float64 (two passes), ``log(var / mean)`` (NaN where 0), genes
    binned by ``log1p(mean)`` into ``n_bins`` equal-width bins, and the dispersion
    z-scored within its bin (a bin of one gene gets the raw dispersion over 1, as scanpy).

    Parameters
    ----------
    counts
        Cells x genes raw counts, sparse or dense.
    sf
        Per-cell size factors (:func:`size_factors`).
    n_bins, chunk_size
        Number of mean bins; cells per block.

    Returns
    -------
    numpy.ndarray
        Normalised dispersion per gene (NaN for genes without one).
    """
    n, g = counts.shape
    s1 = np.zeros(g)
    for _, blk in normalised_blocks(counts, sf, log=True, chunk_size=chunk_size):
        s1 += np.bincount(blk.indices, weights=np.expm1(blk.data), minlength=g)
    mean = s1 / n
    ss, nz = np.zeros(g), np.zeros(g)
    for _, blk in normalised_blocks(counts, sf, log=True, chunk_size=chunk_size):
        ss += np.bincount(blk.indices, weights=(np.expm1(blk.data) - mean[blk.indices]) ** 2, minlength=g)
        nz += np.bincount(blk.indices, minlength=g)
    var = (ss + (n - nz) * mean**2) / n
    var *= n / (n - 1)  # scanpy's order of operations, so ties break alike
    mean[mean == 0] = 1e-12
    disp = var / mean
    disp[disp == 0] = np.nan
    df = pd.DataFrame({"means": np.log1p(mean), "dispersions": np.log(disp)})
    df["mean_bin"] = pd.cut(df["means"], bins=n_bins)
    stats = df.groupby("mean_bin", observed=True)["dispersions"].agg(avg="mean", dev="std")
    single = stats["dev"].isnull()
    stats.loc[single, "dev"] = stats.loc[single, "avg"]
    stats.loc[single, "avg"] = 0
    stats = stats.loc[df["mean_bin"]].set_index(df.index)
    return ((df["dispersions"] - stats["avg"]) / stats["dev"]).to_numpy()


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
    x = sp.csr_matrix(counts)
    cell_tot = np.asarray(x.sum(1, dtype=np.float64)).ravel()
    gene_p = np.asarray(x.sum(0, dtype=np.float64)).ravel() / max(cell_tot.sum(), 1.0)
    clip = np.sqrt(x.shape[0])
    s1, s2 = np.zeros(x.shape[1]), np.zeros(x.shape[1])
    for start in range(0, x.shape[0], chunk_size):
        mu = cell_tot[start:start + chunk_size, None] * gene_p[None, :]
        r = (x[start:start + chunk_size].toarray().astype(np.float64) - mu) / np.sqrt(np.maximum(mu + mu**2 / theta, 1e-300))
        r = np.clip(r, -clip, clip)
        s1 += r.sum(0)
        s2 += (r * r).sum(0)
    mean = s1 / x.shape[0]
    return mean, np.maximum(s2 / x.shape[0] - mean**2, 0.0)
