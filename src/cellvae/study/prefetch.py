"""Scores the chapters need, computed ahead in the grid's pool so the book only reads caches.

Every scIB score and UMAP of the study is cached on disk by content.  The batch chapter's
benchmark calls, its UMAPs, the results chapter's collapsed-posterior check and the real cells
chapter's scIB checks (this module's tasks, and :func:`cellvae.study.findings.findings_task`)
would otherwise run one after another in the main process or a notebook kernel; here they
run as pool tasks, in parallel, and the chapters' own calls then hit the cache.  Workers
read the data by path.  If a chapter's inputs ever differ from what is prefetched, its call
computes them itself: slower, never wrong.
"""

from __future__ import annotations

import hashlib
from concurrent.futures import Executor

import anndata as ad
import numpy as np

from .._io import atomic_path, cache_dir
from ..data import fingerprint


def _scoring_copy(adata: ad.AnnData) -> str:
    """``adata`` with its embeddings written once under the cache; the path workers read."""
    h = hashlib.sha256(fingerprint(adata).encode())
    for k in sorted(adata.obsm):
        h.update(k.encode() + np.ascontiguousarray(adata.obsm[k]).tobytes())
    for c in sorted(adata.obs):
        h.update(c.encode() + "\0".join(map(str, adata.obs[c])).encode())
    path = cache_dir() / "scoring" / f"{h.hexdigest()[:24]}.h5ad"
    if not path.exists():
        with atomic_path(path) as tmp:
            adata.write_h5ad(tmp)
    return str(path)


def _bench(path: str, keys: dict, kw: dict) -> None:
    from .integration import benchmark

    benchmark(ad.read_h5ad(path), keys, **kw)


def _umap(path: str, key: str, mask: np.ndarray | None) -> None:
    from .metrics import umap

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
        ``(keys, keyword arguments)`` of :func:`~cellvae.study.integration.benchmark` calls.
    executor
        A process pool or a Dask executor whose workers share the cache directory.
    umaps
        ``(obsm key, cell mask or None)`` of :func:`~cellvae.study.metrics.umap` calls.
    """
    path = _scoring_copy(adata)
    futures = [executor.submit(_bench, path, k, kw) for k, kw in jobs]
    futures += [executor.submit(_umap, path, k, m) for k, m in umaps]
    for f in futures:
        f.result()


def results_task() -> None:
    """The results chapter's collapsed-posterior scores, for a pool worker: fills the cache."""
    from .grid import report_specs
    from .original import collapsed_check
    from .report import book_data
    from .runs import run_all
    from .selection import choose_model

    adata = book_data()
    results = run_all(adata, report_specs(), progress=False, jobs=1)
    collapsed_check(adata, results, choose_model(results, family="nb/raw").best)


def starter_task() -> None:
    """The real cells chapter's scIB check, UMAPs and seed mixings, for a pool worker: fills the caches."""
    from .real import pick, real_specs, starter_batch, starter_data, starter_seed_mixing
    from .runs import run_all

    adata = starter_data()
    runs = run_all(adata, real_specs(), progress=False, jobs=1)
    nb = pick(runs, "nb/raw")
    starter_batch(adata, nb, pick(runs, "nb/raw", conditional=True))
    starter_seed_mixing(adata, nb)
