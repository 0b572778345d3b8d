"""Scores the chapters need, computed ahead in the grid's pool so the book only reads caches.

Every scIB score and UMAP of the study is cached on disk by content.  The batch chapter's
benchmark calls, its UMAPs, the results chapter's collapsed-posterior check and the real cells
chapter's scIB checks (this module's tasks, and :func:`cellvae.study.chapters.side_by_side.findings_task`)
would otherwise run one after another in the main process or a notebook kernel; here they
run as pool tasks, in parallel, and the chapters' own calls then hit the cache.  Workers
read the data by path.  If a chapter's inputs ever differ from what is prefetched, its call
computes them itself: slower, never wrong.
"""

from __future__ import annotations

from concurrent.futures import Executor

import anndata as ad
import numpy as np

from ..._io import cache_dir
from ...data import fingerprint
from ..runner import store


def _scoring_copy(adata: ad.AnnData) -> str:
    """``adata`` with its embeddings written once under the cache; the path workers read."""
    parts = [fingerprint(adata)]
    for k in sorted(adata.obsm):
        parts += [k, np.asarray(adata.obsm[k])]
    for c in sorted(adata.obs):
        parts += [c, list(map(str, adata.obs[c]))]
    h = store.key(*parts)
    return str(store.cached_file(cache_dir() / "scoring" / f"{h}.h5ad", adata.write_h5ad))


def _bench(path: str, keys: dict, kw: dict) -> None:
    from .integration import benchmark

    benchmark(ad.read_h5ad(path), keys, **kw)


def _umap(path: str, key: str, mask: np.ndarray | None) -> None:
    from .embed import umap

    a = ad.read_h5ad(path)
    umap(a if mask is None else a[mask].copy(), key)


def prefetch(adata: ad.AnnData, jobs: list[tuple[dict, dict]], executor: Executor, *,
             umaps: list[tuple[str, np.ndarray | None]] = ()) -> None:
    """Run benchmark calls (and UMAPs) in ``executor`` and wait; results land in the caches.

    Parameters
    ----------
    adata
        Data with every embedding the jobs name.
    jobs
        ``(keys, keyword arguments)`` of :func:`~cellvae.study.scoring.integration.benchmark` calls.
    executor
        A process pool or a Dask executor whose workers share the cache directory.
    umaps
        ``(obsm key, cell mask or None)`` of :func:`~cellvae.study.scoring.embed.umap` calls.
    """
    path = _scoring_copy(adata)
    futures = [executor.submit(_bench, path, k, kw) for k, kw in jobs]
    futures += [executor.submit(_umap, path, k, m) for k, m in umaps]
    for f in futures:
        f.result()
