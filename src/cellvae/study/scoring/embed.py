"""Views of an embedding, scverse-style: PCA of the log data, a linear projection and a UMAP.

PCA, neighbours and UMAP are scanpy's (``sc.pp.pca`` on the sparse log matrix, which
centres implicitly and never densifies; ``sc.pp.neighbors`` and ``sc.tl.umap`` on an
``obsm`` key).  UMAPs are cached on disk by content hash.  The scores of an embedding are
:mod:`cellvae.study.scoring.integration`'s, the one scIB path.
"""

from __future__ import annotations

import anndata as ad
import numpy as np
import pandas as pd

from ...data import get_variant
from ..runner import store
from ..runner.store import ARRAY, cached

#: The obsm key of the unintegrated baseline written by :func:`pca`.
PCA_KEY = "X_pca"


def _rep(adata: ad.AnnData, key: str) -> np.ndarray:
    if key not in adata.obsm:
        raise KeyError(f"no obsm['{key}']; found {sorted(adata.obsm)}")
    return np.ascontiguousarray(adata.obsm[key], dtype=np.float32)


def _bare(adata: ad.AnnData, x=None, **obsm) -> ad.AnnData:
    """An AnnData with ``adata``'s cells only, so scanpy's side effects stay off the user's."""
    return ad.AnnData(X=x, obs=pd.DataFrame(index=adata.obs_names.copy()), obsm=obsm)


def pca(adata: ad.AnnData, *, n_comps: int = 50, key_added: str = PCA_KEY, seed: int = 0) -> np.ndarray:
    """PCA of the log-normalised counts, the unintegrated baseline, into ``obsm[key_added]``.

    Parameters
    ----------
    adata
        Prepared data with ``layers['counts']``.
    n_comps
        Principal components (capped below the matrix's smaller side).
    key_added
        obsm key to write.
    seed
        ARPACK's start vector.

    Returns
    -------
    numpy.ndarray
        Cells x ``n_comps`` float32 scores (also stored in ``adata.obsm``).
    """
    import scanpy as sc

    tmp = _bare(adata, get_variant(adata, "processed"))
    n_comps = min(n_comps, min(tmp.shape) - 1)
    sc.pp.pca(tmp, n_comps=n_comps, svd_solver="arpack", random_state=seed)
    adata.obsm[key_added] = tmp.obsm["X_pca"].astype(np.float32)
    return adata.obsm[key_added]


def project(adata: ad.AnnData, key: str, *, n_comps: int = 2, seed: int = 0) -> np.ndarray:
    """The first principal components of an embedding: a linear view beside UMAP.

    Parameters
    ----------
    adata
        Data with the embedding in ``obsm[key]``.
    key
        obsm key.
    n_comps
        Components to keep.
    seed
        ARPACK's start vector.

    Returns
    -------
    numpy.ndarray
        Cells x ``n_comps``.

    Raises
    ------
    KeyError
        If ``obsm[key]`` is missing.
    """
    import scanpy as sc

    tmp = _bare(adata, _rep(adata, key))
    sc.pp.pca(tmp, n_comps=n_comps, svd_solver="arpack", random_state=seed)
    return tmp.obsm["X_pca"]


def umap(adata: ad.AnnData, key: str, *, seed: int = 0, n_neighbors: int = 15) -> np.ndarray:
    """2-D UMAP of ``obsm[key]`` (scanpy), cached on disk, stored in ``obsm[key + '_umap']``.

    Parameters
    ----------
    adata
        Data with the embedding in ``obsm[key]``.
    key
        obsm key.
    seed
        Seeds the neighbour search and the layout.
    n_neighbors
        Neighbours of the kNN graph.

    Returns
    -------
    numpy.ndarray
        Cells x 2 float32 coordinates.

    Raises
    ------
    KeyError
        If ``obsm[key]`` is missing.
    """
    import scanpy as sc

    emb = _rep(adata, key)
    h = store.key(emb, seed, n_neighbors, "scanpy")

    def compute():
        tmp = _bare(adata, rep=emb)
        # Exact neighbours (scanpy's sklearn transformer): deterministic, and quick at these sizes
        # (90k cells x 50 dims is ~10 s); scanpy 1.11's approximate path cannot read the
        # csr_array that pynndescent 0.7 returns.
        sc.pp.neighbors(tmp, n_neighbors=n_neighbors, use_rep="rep", transformer="sklearn")
        sc.tl.umap(tmp, random_state=seed)
        return tmp.obsm["X_umap"].astype(np.float32)

    xy = cached("umap", h, compute, codec=ARRAY, valid=lambda v: v.shape == (len(emb), 2))
    adata.obsm[f"{key}_umap"] = xy
    return xy
