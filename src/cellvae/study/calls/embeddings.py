"""The embeddings that the batch-effect chapter compares, stored in ``obsm``, with their replicates.

Every verdict of the batch chapter rests on :data:`~cellvae.study.runner.grid.BATCH_SEEDS`
replicates of each embedding: the VAEs and scVI at as many training seeds, Harmony at as many
of its own seeds, the random embedding as many draws, the shuffled-label control as many
shuffles, and PCA, which has no seed, on as many random subsamples (:data:`PCA_SUBSAMPLE`)
of the cells scored.
"""

from __future__ import annotations

import anndata as ad
import numpy as np

from ..runner.grid import BATCH_SEEDS, RunSpec, batch_pair, batch_seeds, variant_of
from ..runner.runs import RunResult, run_all
from ..scoring.baselines import harmony, scvi_baseline
from ..scoring.embed import PCA_KEY, pca
from ..scoring.integration import MIXING, benchmark, random_embedding, shuffle_labels
from .selection import ModelChoice, choose_model

#: obsm keys of the VAE latents this module writes.
NB_KEY, COND_KEY = "X_nb", "X_nb_batch"
#: The batch table's row of the plain NB latent.
NB_ROW = "our NB"
#: Share of the scored cells in each of PCA's replicate subsamples.
PCA_SUBSAMPLE = 0.8
#: A replicate: obsm key, batch column, and the seed of a subsample of the scored cells (None: all).
Replicate = tuple[str, str, int | None]


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


def replicate_row(name: str, i: int) -> str:
    """The row name under which replicate ``i`` of an embedding is scored (and cached).

    Parameters
    ----------
    name
        The embedding's row, e.g. :data:`NB_ROW`.
    i
        The replicate (for trained embeddings, its training seed).

    Returns
    -------
    str
    """
    return f"{name} #{i}"


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
    # named as the batch table's replicates of the plain NB, so the same seed on the same cells is
    # scored once and read from the cache by both
    scores = [benchmark(adata, {replicate_row(NB_ROW, runs[i].spec.train.seed): k}, mask=mask,
                        full=False)[MIXING].iloc[0] for i, k in keys.items()]
    got = dict(zip(keys, scores))
    return np.asarray([got.get(i, np.nan) for i in range(len(runs))], dtype=float)


def subsample(mask: np.ndarray, seed: int, *, share: float = PCA_SUBSAMPLE) -> np.ndarray:
    """A seeded random ``share`` of the cells of ``mask``.

    Parameters
    ----------
    mask
        Boolean cell mask.
    seed
        Seeds the draw.
    share
        Share kept.

    Returns
    -------
    numpy.ndarray
        Boolean mask within ``mask``.
    """
    idx = np.flatnonzero(mask)
    keep = np.random.default_rng(seed).choice(idx, int(round(share * len(idx))), replace=False)
    out = np.zeros(len(mask), bool)
    out[keep] = True
    return out


def batch_replicates(adata: ad.AnnData, best: RunSpec, present: set[str]) -> dict[str, list[Replicate]]:
    """Train or load every replicate of the batch table's embeddings and store them in ``obsm``.

    Parameters
    ----------
    adata
        The book data with ``obsm['X_pca']``; replicate latents and shuffled batch columns are added.
    best
        The chosen NB run.
    present
        The table's rows that can be scored here (Harmony and scVI may be missing).

    Returns
    -------
    dict
        Row name -> its replicates; a seed whose run diverged has none.
    """
    seeds = range(len(BATCH_SEEDS))
    out: dict[str, list[Replicate]] = {"PCA": [(PCA_KEY, "batch", k) for k in seeds]}
    runs = run_all(adata, batch_seeds(best), progress=False)
    for name, tag, offset in ((NB_ROW, "X_nb_s", 0), ("our NB +batch", "X_nb_batch_s", 1)):
        out[name] = []
        for k in seeds:
            r = runs[2 * k + offset]
            if r.latent is not None:
                adata.obsm[f"{tag}{k}"] = r.latent
                out[name].append((f"{tag}{k}", "batch", None))
    if "Harmony" in present:
        for k in seeds:
            adata.obsm[f"X_harmony_s{k}"] = harmony(adata, seed=k)
        out["Harmony"] = [(f"X_harmony_s{k}", "batch", None) for k in seeds]
    if "scVI (scvi-tools)" in present:
        for k, seed in zip(seeds, BATCH_SEEDS):
            adata.obsm[f"X_scvi_s{k}"] = scvi_baseline(adata, variant_of(best, seed=seed)).latent
        out["scVI (scvi-tools)"] = [(f"X_scvi_s{k}", "batch", None) for k in seeds]
    width = adata.obsm[NB_KEY].shape[1]
    for k in seeds:
        adata.obsm[f"X_random_s{k}"] = random_embedding(adata.n_obs, width, seed=k)
    out["random embedding"] = [(f"X_random_s{k}", "batch", None) for k in seeds]
    out["shuffled labels"] = [(NB_KEY, shuffle_labels(adata, "batch", seed=k, key_added=f"batch_shuffled{k}"), None)
                              for k in seeds]
    return out
