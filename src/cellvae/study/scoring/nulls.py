"""Nulls of the scores on one data set: k-means NMI of random projections, batch mixing of shuffles.

Each is what a score reads when the thing it measures is absent: a random projection of the
counts keeps what any untrained linear map keeps, and nothing learned; batch labels shuffled
within cell type carry no information about where a cell lies.  Each is cached on disk by
content hash.
"""

from __future__ import annotations

import anndata as ad
import numpy as np

from ...data import fingerprint, get_variant
from ..runner import store
from .fastscore import exact_neighbors, fast_scoring
from .mixing import ILISI_NEIGHBORS, N_SHUFFLES, mixing_scores

_VERSION = 5  # 5: mixing relative to shuffles (the shuffles do not read the isolated labels)


def shuffle_null(adata: ad.AnnData, key: str, *, batch_key: str = "batch", label_key: str = "cell_type",
                 mask: np.ndarray | None = None, n_shuffles: int = N_SHUFFLES) -> np.ndarray:
    """Batch mixing of each within-type shuffle of ``obsm[key]`` against the other shuffles.

    These are the values :data:`~cellvae.study.scoring.mixing.MIXING` takes on this
    embedding, these cells and these batch sizes when batch says nothing about position: a
    permutation null for the embedding's own score, with the shuffles
    :func:`~cellvae.study.scoring.integration.benchmark` uses (the same seed).

    Parameters
    ----------
    adata
        Data with ``obsm[key]`` and the two obs columns.
    key
        obsm key of the embedding.
    batch_key, label_key
        obs columns of batches and cell types.
    mask
        Cells to score; None scores all.
    n_shuffles
        Shuffles (at least two).

    Returns
    -------
    numpy.ndarray
        ``n_shuffles`` values near 1.
    """
    m = np.ones(adata.n_obs, bool) if mask is None else np.asarray(mask, bool)
    emb = np.ascontiguousarray(adata.obsm[key][m], dtype=np.float32)
    batch, labels = (adata.obs[c].astype(str).to_numpy()[m] for c in (batch_key, label_key))
    h = store.key(emb, batch.tolist(), labels.tolist(), n_shuffles, "shuffle null", _VERSION)

    def compute():
        with fast_scoring():
            return np.asarray(mixing_scores(exact_neighbors(emb, ILISI_NEIGHBORS), batch, labels,
                                            n_shuffles=n_shuffles)["null"], dtype=float)

    return store.cached("metrics", h, compute, codec=store.ARRAY, valid=lambda v: v.shape == (n_shuffles,))


def random_projection(adata: ad.AnnData, dim: int, *, seed: int = 0) -> np.ndarray:
    """The log-normalised counts mapped to ``dim`` dimensions by a random Gaussian matrix.

    An encoder that learned nothing still passes the counts through a linear map: this is what
    such a map keeps of the cell types, the null a collapsed latent's clustering must beat.

    Parameters
    ----------
    adata
        Prepared data with ``layers['counts']``.
    dim
        Output dimension.
    seed
        Seeds the matrix.

    Returns
    -------
    numpy.ndarray
        float32 cells x ``dim``.
    """
    x = get_variant(adata, "processed")
    w = np.random.default_rng(seed).standard_normal((x.shape[1], dim)).astype(np.float32) / np.sqrt(x.shape[1])
    return np.asarray(x @ w, dtype=np.float32)


def projection_nmi(adata: ad.AnnData, dim: int, *, n_draws: int, label_key: str = "cell_type",
                   seed: int = 0) -> np.ndarray:
    """NMI of k-means clusters of random projections of the counts with the labels: the collapse check's null.

    Parameters
    ----------
    adata
        Prepared data with ``layers['counts']`` and ``obs[label_key]``.
    dim
        Dimension of each projection (the latent's).
    n_draws
        Projections (seeds ``seed`` to ``seed + n_draws - 1``).
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
    h = store.key(fingerprint(adata), labels.tolist(), "projection", dim, n_draws, seed, _VERSION)

    def compute():
        return np.array([float(scib_metrics.nmi_ari_cluster_labels_kmeans(random_projection(adata, dim, seed=seed + i),
                                                                         labels)["nmi"]) for i in range(n_draws)])

    return store.cached("metrics", h, compute, codec=store.ARRAY,
                        valid=lambda v: v.shape == (n_draws,) and bool(np.isfinite(v).all()))
