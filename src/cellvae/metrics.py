"""scIB-style batch-correction and biology-conservation scores (via scib-metrics).

Batch correction: iLISI, kBET (per label) and graph connectivity.
Biology conservation: NMI and ARI of k-means clusters, silhouette of labels, cLISI.
Aggregate as in scIB: ``total = 0.4 * batch + 0.6 * bio`` on unscaled scores in [0, 1].
``batch mixing`` (the mean of iLISI and kBET) is what the controls decide on: graph
connectivity measures whether each cell type stays connected, which batch effects of this
size barely move and which is noisy for rare types in small samples.
"""

from __future__ import annotations

import hashlib
import json
import logging

import numpy as np
import pandas as pd

from ._io import atomic_path, cache_dir

BATCH_METRICS = ("iLISI", "kBET", "graph connectivity")
BIO_METRICS = ("NMI", "ARI", "silhouette label", "cLISI")
MIXING_METRICS = ("iLISI", "kBET")
_METRICS_VERSION = 1


def pca_embedding(x, *, n_comps: int = 50, seed: int = 0) -> np.ndarray:
    """PCA of a (log) expression matrix: the unintegrated baseline."""
    from sklearn.decomposition import TruncatedSVD

    x = x.toarray() if hasattr(x, "toarray") else np.asarray(x)
    x = x - x.mean(0)
    return TruncatedSVD(n_comps, random_state=seed).fit_transform(x).astype(np.float32)


def umap_embedding(emb: np.ndarray, *, seed: int = 0, n_neighbors: int = 15) -> np.ndarray:
    """2-D UMAP of an embedding (seeded; single-threaded for reproducibility)."""
    import umap

    return umap.UMAP(n_neighbors=n_neighbors, random_state=seed, n_jobs=1).fit_transform(emb)


def cached_umap(emb: np.ndarray, *, seed: int = 0) -> np.ndarray:
    """:func:`umap_embedding`, cached on disk by the embedding's hash."""
    key = hashlib.sha256(np.ascontiguousarray(emb, dtype=np.float32).tobytes() + str(seed).encode())
    path = cache_dir() / "umap" / f"{key.hexdigest()[:24]}.npy"
    if path.exists():
        try:
            xy = np.load(path)
            if xy.shape == (len(emb), 2):
                return xy
        except (ValueError, OSError):
            pass
        path.unlink(missing_ok=True)  # corrupt: recompute
    xy = umap_embedding(emb, seed=seed).astype(np.float32)
    with atomic_path(path) as tmp, open(tmp, "wb") as fh:
        np.save(fh, xy)
    return xy


def scib_scores(emb: np.ndarray, batch, labels, *, n_neighbors: int = 90, seed: int = 0) -> dict:
    """All seven metrics plus the batch, bio and total aggregates, for one embedding."""
    import scib_metrics
    from scib_metrics.nearest_neighbors import pynndescent

    logging.getLogger("scib_metrics").setLevel(logging.WARNING)
    emb = np.ascontiguousarray(emb, dtype=np.float32)
    batch, labels = np.asarray(batch).astype(str), np.asarray(labels).astype(str)
    nn = pynndescent(emb, n_neighbors=n_neighbors, random_state=seed)
    nmi_ari = scib_metrics.nmi_ari_cluster_labels_kmeans(emb, labels)
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


def _key(emb, batch, labels, seed) -> str:
    h = hashlib.sha256(np.ascontiguousarray(emb, dtype=np.float32).tobytes())
    h.update("\0".join(map(str, batch)).encode())
    h.update("\0".join(map(str, labels)).encode())
    h.update(f"{seed}|{_METRICS_VERSION}".encode())
    return h.hexdigest()[:24]


def cached_scib_scores(emb: np.ndarray, batch, labels, *, seed: int = 0) -> dict:
    """:func:`scib_scores`, cached on disk by the embedding's and labels' hash."""
    path = cache_dir() / "metrics" / f"{_key(emb, batch, labels, seed)}.json"
    s = None
    if path.exists():
        try:
            s = json.loads(path.read_text())
        except (json.JSONDecodeError, OSError):
            path.unlink(missing_ok=True)  # corrupt: recompute
    if s is None:
        s = scib_scores(emb, batch, labels, seed=seed)
        with atomic_path(path) as tmp:
            tmp.write_text(json.dumps(s))
    s["batch mixing"] = float(np.mean([s[k] for k in MIXING_METRICS]))
    return s


def score_table(embeddings: dict[str, np.ndarray], batch, labels, *, seed: int = 0) -> pd.DataFrame:
    """One row per embedding, the metric columns, then the three aggregates."""
    rows = {name: cached_scib_scores(e, batch, labels, seed=seed) for name, e in embeddings.items()}
    cols = list(BATCH_METRICS) + list(BIO_METRICS) + ["batch correction", "bio conservation", "total",
                                                      "batch mixing"]
    return pd.DataFrame(rows).T[cols]


