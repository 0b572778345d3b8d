"""The real-cells chapter: the study's pipeline on the shipped 600-cell BMMC starter.

The main chapters run on whatever :func:`~cellvae.study.runner.bookdata.book_data` gives (by
default the simulator).  This module runs the same pipeline on real counts, always: NB
models of the five architectures, the original study's objective (the collapse
reproduction), a batch-conditional NB and the ZINB posterior predictive check, each on the
starter's own train/test split.  The architecture of the batch and zero-inflation checks is
fixed in advance (:data:`REAL_ARCH`), so nothing is chosen on test cells.  A batch effect
is judged against a null matched to these very cells: the same embedding scored with the
batch labels shuffled within each cell type.  :func:`compare_findings` then sets each
finding on real cells beside the same finding on the main chapters' data.
"""

from __future__ import annotations

from dataclasses import replace

import anndata as ad
import numpy as np
import pandas as pd

from ...data import prepare
from ...datasets import bmmc_starter
from ..calls.controls import FPR, prediction_bounds
from ..calls.embeddings import seed_mixing
from ..runner.cache import RunResult, paired_difference
from ..runner.grid import (
    ARCHITECTURES,
    BOOK_TRAIN,
    SEEDS,
    RunSpec,
    family_spec,
    variant_of,
    zinb_of,
)
from ..runner.runs import run_all
from ..scoring.metrics import PCA_KEY, cached_scib_scores, pca

#: Training on 480 cells: an epoch is only ~3 Adam steps at batch 128, so the epoch budget
#: is raised until early stopping, not the cap, ends most runs (the page counts them), and
#: warm-up and patience scale with it: 30 epochs are ~100 steps here (the book grid's 10
#: epochs are ~190 on its 2,430 fitting cells).
STARTER_TRAIN = replace(BOOK_TRAIN, max_epochs=400, kl_warmup_epochs=30, patience=30, batch_size=128)
#: The architecture of the batch and ZINB checks, fixed before seeing any result: the one with
#: the fewest latent units (10) and the fewest weights, for 480 training cells.
REAL_ARCH = "M1"
#: Batch-label shuffles (within cell type) that make the matched null.
N_SHUFFLES = 5
#: Types with fewer cells than this are too rare for a per-type statement.
RARE = 10


def starter_data() -> ad.AnnData:
    """The shipped starter, prepared as the book prepares any real file (all its genes).

    Returns
    -------
    anndata.AnnData
        600 cells with a seeded train/test split and ``uns['source']``.
    """
    raw = bmmc_starter()
    adata = prepare(raw, n_top_genes=raw.n_vars, seed=0)
    adata.uns["source"] = (f"the shipped BMMC starter ({adata.n_obs:,} real cells x {adata.n_vars:,} genes "
                           "of GSE194122, cellvae.datasets.bmmc_starter())")
    return adata


def _on_starter(spec: RunSpec) -> RunSpec:
    return replace(spec, train=STARTER_TRAIN)


def real_specs() -> list[RunSpec]:
    """NB and the original objective for every architecture, plus NB +batch and ZINB of :data:`REAL_ARCH`.

    Returns
    -------
    list of RunSpec
        All on :data:`STARTER_TRAIN`.
    """
    nb = [_on_starter(family_spec(a, "nb/raw")) for a in ARCHITECTURES]
    orig = [_on_starter(family_spec(a, "original")) for a in ARCHITECTURES]
    base = nb[list(ARCHITECTURES).index(REAL_ARCH)]
    return nb + orig + [replace(base, conditional=True), zinb_of(base)]


def seed_specs() -> list[RunSpec]:
    """The plain NB run of :data:`REAL_ARCH` at the other training seeds: the spread of its batch mixing.

    Returns
    -------
    list of RunSpec
        One per :data:`~cellvae.study.runner.grid.SEEDS` after the first, on :data:`STARTER_TRAIN`.
    """
    base = _on_starter(family_spec(REAL_ARCH, "nb/raw"))
    return [variant_of(base, seed=k) for k in SEEDS[1:]]


def starter_seed_mixing(adata: ad.AnnData, nb: RunResult) -> np.ndarray:
    """Batch mixing of the plain NB latent at every training seed (:func:`seed_specs` run or loaded).

    Parameters
    ----------
    adata
        The prepared starter; the latents are added to ``obsm``.
    nb
        The plain :data:`REAL_ARCH` NB run at the first seed.

    Returns
    -------
    numpy.ndarray
        :func:`~cellvae.study.calls.embeddings.seed_mixing` of ``nb`` and the other seeds' runs.
    """
    return seed_mixing(adata, [nb, *run_all(adata, seed_specs(), progress=False, jobs=1)])


def starter_facts(adata: ad.AnnData) -> dict:
    """The exploration numbers of the real cells, for glue.

    Parameters
    ----------
    adata
        Prepared data with raw counts in ``layers['counts']``.

    Returns
    -------
    dict
        Cells, genes, cell types (and how many have fewer than :data:`RARE` cells), cells
        per batch, median library size, zero fraction, the top gene and its share of all
        counts, the test cells, and the donors and sites in words (``donors``, ``sites``)
        with what a batch effect is among them (``batch_is``).
    """
    x = adata.layers["counts"]
    lib = np.asarray(x.sum(1)).ravel()
    gene_tot = np.asarray(x.sum(0)).ravel()
    top = int(np.argmax(gene_tot))
    types = adata.obs["cell_type"].value_counts()
    per_batch = adata.obs["batch"].astype(str).value_counts().sort_index()
    n_donors, n_sites = adata.obs["DonorNumber"].nunique(), adata.obs["Site"].nunique()
    words = dict(enumerate(("no", "one", "two", "three", "four")))
    return {"donors": f"{words.get(n_donors, n_donors)} donor{'s' * (n_donors != 1)}",
            "sites": f"{words.get(n_sites, n_sites)} site{'s' * (n_sites != 1)}",
            "batch_is": "so here a batch effect is a donor effect" if n_sites == 1 else
                        "so a batch effect mixes site and donor",
            "n_cells": f"{adata.n_obs:,}", "n_genes": f"{adata.n_vars:,}", "n_types": int(len(types)),
            "n_rare": int((types < RARE).sum()), "rare": RARE,
            "batches": ", ".join(f"{b} ({n})" for b, n in per_batch.items()), "n_batches": int(len(per_batch)),
            "median_lib": f"{np.median(lib):,.0f}", "zero_frac": f"{1 - x.nnz / np.prod(x.shape):.1%}",
            "top_gene": str(adata.var_names[top]), "top_share": f"{gene_tot[top] / gene_tot.sum():.0%}",
            "n_test": int((adata.obs["split"] == "test").sum())}


def shuffled_null(adata: ad.AnnData, key: str, *, n_shuffles: int = N_SHUFFLES, seed: int = 0) -> np.ndarray:
    """Batch-mixing scores of ``obsm[key]`` with batch labels shuffled within each cell type.

    Shuffling keeps each type's batch composition but breaks any link between batch and
    expression: it is what "no batch effect" scores on this embedding, these cells and
    these batch sizes.

    Parameters
    ----------
    adata
        Data with ``obsm[key]``, ``obs['batch']`` and ``obs['cell_type']``; shuffled label
        columns ``batch_shuffled<i>`` are added to ``obs``.
    key
        obsm key of the embedding.
    n_shuffles
        Independent shuffles.
    seed
        Seeds the shuffles.

    Returns
    -------
    numpy.ndarray
        One batch-mixing score (mean of iLISI and kBET) per shuffle.
    """
    rng = np.random.default_rng(seed)
    batch = adata.obs["batch"].astype(str).to_numpy()
    groups = adata.obs.groupby("cell_type", observed=True).indices.values()
    out = []
    for i in range(n_shuffles):
        shuf = batch.copy()
        for idx in groups:
            shuf[idx] = rng.permutation(batch[idx])
        adata.obs[f"batch_shuffled{i}"] = pd.Categorical(shuf)
        out.append(cached_scib_scores(adata, key, batch_key=f"batch_shuffled{i}")["batch mixing"])
    return np.asarray(out)


def batch_check(adata: ad.AnnData, keys: dict[str, str], *, fpr: float = FPR) -> tuple[pd.DataFrame, dict]:
    """scIB scores of each embedding and the shuffled-label null of the PCA.

    Parameters
    ----------
    adata
        Prepared starter data with the embeddings in ``obsm``; the PCA is computed here.
    keys
        Row name -> obsm key of the VAE latents.
    fpr
        False-positive rate of the null's lower prediction bound
        (:func:`~cellvae.study.calls.controls.prediction_bounds`).

    Returns
    -------
    scores : pandas.DataFrame
        One row per embedding (PCA first).
    verdict : dict
        ``null_mean``, ``null_sd``, ``threshold`` and ``pca_mixing`` (floats) and
        ``pca_flagged`` (bool: PCA batch mixing below the null's lower prediction bound,
        ``threshold``).
    """
    pca(adata, n_comps=min(50, adata.n_vars - 1, adata.n_obs - 1))
    rows = {"PCA (log data)": PCA_KEY} | keys
    scores = pd.DataFrame({n: cached_scib_scores(adata, k) for n, k in rows.items()}).T
    null = shuffled_null(adata, PCA_KEY)
    mix = float(scores.loc["PCA (log data)", "batch mixing"])
    thr = prediction_bounds(null, fpr=fpr)[0]
    return scores, {"null_mean": float(null.mean()), "null_sd": float(null.std(ddof=1)), "threshold": thr,
                    "pca_mixing": mix, "pca_flagged": bool(mix < thr)}


def starter_batch(adata: ad.AnnData, nb: RunResult, cond: RunResult) -> tuple:
    """The chapter's batch check: both latents into ``obsm``, :func:`batch_check`, and UMAPs.

    Parameters
    ----------
    adata
        The prepared starter.
    nb, cond
        The plain and the batch-conditional NB runs on it.

    Returns
    -------
    tuple
        ``scores`` and ``verdict`` of :func:`batch_check`, row name -> UMAP coordinates, and
        the held-out IWAE gain of ``cond`` over ``nb`` (log p(x|s) against log p(x)): mean
        and bootstrap s.e., nats per cell.
    """
    from ..scoring.metrics import umap

    adata.obsm["X_nb"], adata.obsm["X_nb_batch"] = nb.latent, cond.latent
    rows = {f"{REAL_ARCH} NB": "X_nb", f"{REAL_ARCH} NB +batch": "X_nb_batch"}
    scores, verdict = batch_check(adata, rows)
    return scores, verdict, {name: umap(adata, key) for name, key in rows.items()}, paired_difference(cond, nb)


def pick(results: list[RunResult], family: str, *, conditional: bool = False, arch: str = REAL_ARCH) -> RunResult:
    """The run of ``arch`` and ``family`` (plain or batch-conditional) among ``results``.

    Parameters
    ----------
    results
        Runs to search.
    family
        A family name, e.g. ``"nb/raw"``.
    conditional
        Whether the run is batch-conditional.
    arch
        Architecture name.

    Returns
    -------
    RunResult

    Raises
    ------
    KeyError
        If no such run is present.
    """
    for r in results:
        if r.spec.arch == arch and r.spec.family == family and r.spec.conditional == conditional:
            return r
    raise KeyError(f"no {arch} {family}{' +batch' if conditional else ''} run among the results")


def batch_sentence(scores: pd.DataFrame, verdict: dict, *, nb: str, cond: str) -> str:
    """The batch verdict on real cells against the shuffled-label null, as Markdown.

    Parameters
    ----------
    scores, verdict
        :func:`batch_check` output.
    nb, cond
        Row names of the plain and the batch-conditional NB latent.

    Returns
    -------
    str
        Whether the PCA's batch mixing falls below the null's lower prediction bound, and how
        conditioning moves the NB latent's batch mixing and biology conservation.
    """
    v = verdict
    if v["pca_flagged"]:
        head = (f"The unintegrated PCA scores {v['pca_mixing']:.3f} on batch mixing, below {v['threshold']:.3f}, "
                f"the lower {1 - FPR:.0%} prediction bound of the shuffled-label null (mean {v['null_mean']:.3f}, "
                f"s.d. {v['null_sd']:.3f}): **a batch effect is detected** between the two donors.")
    else:
        head = (f"The unintegrated PCA scores {v['pca_mixing']:.3f} on batch mixing, at or above {v['threshold']:.3f}, "
                f"the lower {1 - FPR:.0%} prediction bound of the shuffled-label null (mean {v['null_mean']:.3f}, "
                f"s.d. {v['null_sd']:.3f}): no batch effect is detected between the two donors at this size.")
    a, b = scores.loc[nb], scores.loc[cond]
    return (head + f" Conditioning the NB model on batch moves its batch mixing from {a['batch mixing']:.3f} "
            f"to {b['batch mixing']:.3f} and its biology conservation from {a['bio conservation']:.3f} to "
            f"{b['bio conservation']:.3f}.")


def starter_task() -> None:
    """The real cells chapter's scIB check, UMAPs and seed mixings, for a pool worker: fills the caches."""
    adata = starter_data()
    runs = run_all(adata, real_specs(), progress=False, jobs=1)
    nb = pick(runs, "nb/raw")
    starter_batch(adata, nb, pick(runs, "nb/raw", conditional=True))
    starter_seed_mixing(adata, nb)
