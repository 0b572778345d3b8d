"""Embeddings and scIB-style scores, scverse-style: an AnnData, an ``obsm`` key, obs keys.

PCA, neighbours and UMAP are scanpy's (``sc.pp.pca`` on the sparse log matrix, which
centres implicitly and never densifies; ``sc.pp.neighbors`` and ``sc.tl.umap`` on an
``obsm`` key).  The scores are scib-metrics':

- batch correction: iLISI, kBET (per label) and graph connectivity;
- biology conservation: NMI and ARI of k-means clusters, silhouette of labels, cLISI.

They are aggregated as in scIB, ``total = 0.4 * batch + 0.6 * bio``, on unscaled scores in
[0, 1].  ``batch mixing`` (the mean of iLISI and kBET) is what the controls decide on: graph
connectivity measures whether each cell type stays connected, which batch effects of this
size barely move and which is noisy for rare types in small samples.  UMAPs and scores are
cached on disk by content hash.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence

import anndata as ad
import numpy as np
import pandas as pd

from ...data import get_variant
from ..runner import store
from ..runner.store import ARRAY, JSON, cached

BATCH_METRICS = ("iLISI", "kBET", "graph connectivity")
BIO_METRICS = ("NMI", "ARI", "silhouette label", "cLISI")
MIXING_METRICS = ("iLISI", "kBET")
#: The obsm key of the unintegrated baseline written by :func:`pca`.
PCA_KEY = "X_pca"
_METRICS_VERSION = 5  # 3: exact neighbours (pynndescent before); 4: k-means on a copy; 5: padded kBET kernel


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


def scib_scores(adata: ad.AnnData, key: str, *, batch_key: str = "batch", label_key: str = "cell_type",
                n_neighbors: int = 90, seed: int = 0) -> dict:
    """All seven metrics plus the batch, bio and total aggregates, for one embedding.

    Parameters
    ----------
    adata
        Data with the embedding in ``obsm[key]``.
    key
        obsm key.
    batch_key, label_key
        obs columns of batches and cell types.
    n_neighbors
        Neighbours of the exact kNN graph the metrics share.
    seed
        Kept for the cache key and callers; the exact neighbour search and scib-metrics'
        k-means are deterministic.

    Returns
    -------
    dict
        Metric name -> score in [0, 1], 1 best.

    Raises
    ------
    KeyError
        If ``obsm[key]`` or an obs column is missing.
    """
    import scib_metrics

    from .fastscore import exact_neighbors, fast_scoring

    logging.getLogger("scib_metrics").setLevel(logging.WARNING)
    emb = _rep(adata, key)
    batch = adata.obs[batch_key].astype(str).to_numpy()
    labels = adata.obs[label_key].astype(str).to_numpy()
    with fast_scoring():
        nn = exact_neighbors(emb, n_neighbors)
        # a copy: scib-metrics' k-means shifts its input in place (by ~1 ulp), which would
        # change the embedding's content hash and so every later cache key built on it
        nmi_ari = scib_metrics.nmi_ari_cluster_labels_kmeans(emb.copy(), labels)
        s = {
            "iLISI": float(scib_metrics.ilisi_knn(nn, batch)),
            "kBET": float(scib_metrics.kbet_per_label(nn, batch, labels)),
            "graph connectivity": float(scib_metrics.graph_connectivity(nn, labels)),
            "NMI": float(nmi_ari["nmi"]), "ARI": float(nmi_ari["ari"]),
            "silhouette label": float(scib_metrics.silhouette_label(emb, labels)),
            "cLISI": float(scib_metrics.clisi_knn(nn, labels)),
        }
    s["batch correction"] = float(np.mean([s[k] for k in BATCH_METRICS]))
    s["bio conservation"] = float(np.mean([s[k] for k in BIO_METRICS]))
    s["total"] = 0.4 * s["batch correction"] + 0.6 * s["bio conservation"]
    return s


def cached_scib_scores(adata: ad.AnnData, key: str, *, batch_key: str = "batch",
                       label_key: str = "cell_type", seed: int = 0) -> dict:
    """:func:`scib_scores` cached on disk by content hash, plus ``batch mixing``.

    Parameters
    ----------
    adata, key, batch_key, label_key, seed
        As for :func:`scib_scores`.

    Returns
    -------
    dict
        The scores and ``batch mixing`` (mean of iLISI and kBET).
    """
    h = store.key(_rep(adata, key), *(adata.obs[c].astype(str).to_list() for c in (batch_key, label_key)),
                  seed, _METRICS_VERSION)
    s = cached("metrics", h, lambda: scib_scores(adata, key, batch_key=batch_key, label_key=label_key, seed=seed),
               codec=JSON, valid=lambda v: isinstance(v, dict) and set(BATCH_METRICS + BIO_METRICS) <= set(v))
    s["batch mixing"] = float(np.mean([s[k] for k in MIXING_METRICS]))
    return s


def noise_nmi(adata: ad.AnnData, dim: int, *, n_draws: int, label_key: str = "cell_type",
              seed: int = 0) -> np.ndarray:
    """NMI of k-means clusters of random Gaussian embeddings with the labels: a null for NMI.

    Each draw is scored as :func:`scib_scores` scores NMI; cached on disk by the labels,
    the size and the seed.

    Parameters
    ----------
    adata
        Data with ``obs[label_key]``.
    dim
        Dimension of each random embedding.
    n_draws
        Random embeddings (seeds ``seed`` to ``seed + n_draws - 1``).
    label_key
        obs column of the cell types.
    seed
        First seed.

    Returns
    -------
    numpy.ndarray
        ``n_draws`` NMIs.
    """
    import scib_metrics

    labels = adata.obs[label_key].astype(str).to_numpy()
    h = store.key(labels.tolist(), "noise", dim, n_draws, seed, _METRICS_VERSION)

    def compute():
        draws = (np.random.default_rng(seed + i).normal(size=(adata.n_obs, dim)).astype(np.float32)
                 for i in range(n_draws))
        return np.array([float(scib_metrics.nmi_ari_cluster_labels_kmeans(x, labels)["nmi"]) for x in draws])

    return cached("metrics", h, compute, codec=ARRAY,
                  valid=lambda v: v.shape == (n_draws,) and bool(np.isfinite(v).all()))


def score_table(adata: ad.AnnData, keys: Mapping[str, str] | Sequence[str], *, batch_key: str = "batch",
                label_key: str = "cell_type", seed: int = 0) -> pd.DataFrame:
    """One row per embedding: the metric columns, the three aggregates and ``batch mixing``.

    Parameters
    ----------
    adata
        Data with the embeddings in ``obsm``.
    keys
        obsm keys, or a mapping row name -> obsm key.
    batch_key, label_key, seed
        As for :func:`scib_scores`.

    Returns
    -------
    pandas.DataFrame
        Indexed by row name.
    """
    keys = dict(keys) if isinstance(keys, Mapping) else {k: k for k in keys}
    rows = {name: cached_scib_scores(adata, k, batch_key=batch_key, label_key=label_key, seed=seed)
            for name, k in keys.items()}
    cols = list(BATCH_METRICS) + list(BIO_METRICS) + ["batch correction", "bio conservation", "total",
                                                      "batch mixing"]
    return pd.DataFrame(rows).T[cols]
