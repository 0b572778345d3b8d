"""The embeddings that the batch-effect chapter compares, stored in ``obsm``."""

from __future__ import annotations

import anndata as ad
import numpy as np

from ..runner.grid import batch_pair
from ..runner.runs import RunResult, run_all
from ..scoring.embed import PCA_KEY, pca
from ..scoring.integration import MIXING, benchmark
from .selection import ModelChoice, choose_model

#: obsm keys of the VAE latents this module writes.
NB_KEY, COND_KEY = "X_nb", "X_nb_batch"


def batch_embeddings(adata: ad.AnnData, results: list[RunResult], *,
                     progress: bool = False) -> tuple[ModelChoice, RunResult, RunResult, dict[str, str]]:
    """Train (or load) the batch comparison and store every embedding in ``adata.obsm``.

    The chosen NB architecture is trained plain and batch-conditional on the longer
    batch budget; its Gaussian runs come from ``results``; the unintegrated baseline
    is scanpy's PCA of the log data.

    Parameters
    ----------
    adata
        Prepared book data.
    results
        The :func:`~cellvae.study.runner.grid.report_specs` results.
    progress
        Show a progress bar over the two new runs.

    Returns
    -------
    tuple
        The model choice, the plain and the conditional NB results, and a mapping
        row name -> obsm key for :func:`~cellvae.study.scoring.integration.benchmark`.
    """
    choice = choose_model(results, family="nb/raw")
    arch = choice.best.spec.arch
    pick = {r.spec.family: r for r in results if r.spec.arch == arch and not r.spec.conditional}
    nb, cond = run_all(adata, list(batch_pair(choice.best.spec)), progress=progress)
    pca(adata)
    adata.obsm["X_gaussian_preprocessed"] = pick["gaussian/preprocessed"].latent
    adata.obsm["X_gaussian_log"] = pick["gaussian/processed"].latent
    adata.obsm[NB_KEY], adata.obsm[COND_KEY] = nb.latent, cond.latent
    keys = {"PCA (log data)": PCA_KEY, f"{arch} Gaussian/preprocessed": "X_gaussian_preprocessed",
            f"{arch} Gaussian/log": "X_gaussian_log", f"{arch} NB": NB_KEY, f"{arch} NB +batch": COND_KEY}
    return choice, nb, cond, keys


def seed_mixing(adata: ad.AnnData, runs: list[RunResult], *, mask: np.ndarray | None) -> np.ndarray:
    """Batch mixing of each run's latent on the cells of ``mask``.

    Parameters
    ----------
    adata
        The data the runs were trained on; the latents are added to ``obsm``.
    runs
        Runs that differ only in their training seed.
    mask
        Cells scored: the held-out test cells where the batch page scores those, None for all.

    Returns
    -------
    numpy.ndarray
        One :data:`~cellvae.study.scoring.integration.MIXING` per run; NaN for a run that
        did not finish.
    """
    keys = {}
    for i, r in enumerate(runs):
        if r.metrics.get("status") == "ok" and r.latent is not None:  # a diverged run has no latent
            adata.obsm[f"X_seed_mixing{i}"] = r.latent
            keys[i] = f"X_seed_mixing{i}"
    scores = [benchmark(adata, {f"seed {i}": k}, mask=mask, full=False)[MIXING].iloc[0] for i, k in keys.items()]
    got = dict(zip(keys, scores))
    return np.asarray([got.get(i, np.nan) for i in range(len(runs))], dtype=float)
