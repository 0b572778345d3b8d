"""Nulls from the data itself, for a real file: no simulated cells stand in for the user's.

A simulator calibrated on BMMC knows nothing of another tissue's batch sizes, composition or
depth, so its nulls can sit where no embedding of the user's cells could reach.  On a real
file each embedding is instead judged against its own permutation null: its batch labels
permuted within cell type (keeping batch sizes and composition), :data:`N_SHUFFLES` times,
and scored like the row (:func:`~cellvae.study.scoring.nulls.shuffle_null`).  Biology is
judged against the random embedding's draws: it is kept when it clears their upper prediction
bound.  The simulated nulls stay for the simulated default and for the power curves.
"""

from __future__ import annotations

import anndata as ad
import numpy as np
import pandas as pd

from ..scoring.integration import BIO, MIXING
from ..scoring.mixing import N_SHUFFLES
from ..scoring.nulls import shuffle_null
from .controls import FPR, prediction_bounds

#: The null column of a verdict table judged by :func:`data_thresholds`.
OWN_NULL = "own permutations"


def data_thresholds(adata: ad.AnnData, keys: dict[str, str], scores: pd.DataFrame, *,
                    mask: np.ndarray, scope: str = "all batches", batch_key: str = "batch",
                    subsamples: dict[str, list[np.ndarray]] | None = None, fpr: float = FPR) -> pd.DataFrame:
    """Each embedding's thresholds from the data: its own label permutations, the random embedding's draws.

    Parameters
    ----------
    adata
        The book data with each ``obsm[key]``, ``batch`` and ``cell_type``.
    keys
        Row name -> obsm key of the embedding its permutations are scored on.
    scores
        Replicate scores in long form (``scope``, ``embedding``, the statistics), with the
        ``"random embedding"`` draws on ``scope``.
    mask
        Cells scored (the test cells).
    scope
        The scope the thresholds are for.
    batch_key
        The obs column the scope's batches are in (``Site`` within a donor, ``DonorNumber``
        within a site).
    subsamples
        Row name -> the cell masks its replicates are scored on (PCA's subsamples); its null
        pools the permutations of each, so that it varies as its replicates do.
    fpr
        Error rate of each one-sided prediction bound.

    Returns
    -------
    pandas.DataFrame
        Indexed by (scope, row name, stat), as
        :func:`~cellvae.study.calls.calibration.thresholds`: ``mean``, ``sd``, ``n``,
        ``threshold`` (the permutations' lower bound for mixing, the random draws' upper bound
        for biology; NaN with fewer than two random draws).
    """
    rnd = scores.loc[(scores["scope"] == scope) & (scores["embedding"] == "random embedding"), BIO].to_numpy(float)
    bio_thr = prediction_bounds(rnd, fpr=fpr)[1] if np.isfinite(rnd).sum() >= 2 else np.nan
    recs = {}
    for name, key in keys.items():
        masks = (subsamples or {}).get(name) or [mask]
        null = np.concatenate([shuffle_null(adata, key, batch_key=batch_key, mask=m, n_shuffles=N_SHUFFLES)
                               for m in masks])
        recs[(scope, name, MIXING)] = (null.mean(), null.std(ddof=1), len(null), prediction_bounds(null, fpr=fpr)[0])
        recs[(scope, name, BIO)] = (np.mean(rnd) if len(rnd) else np.nan, np.std(rnd, ddof=1) if len(rnd) > 1
                                    else np.nan, len(rnd), bio_thr)
    return pd.DataFrame(list(recs.values()), index=pd.MultiIndex.from_tuples(list(recs)),
                        columns=["mean", "sd", "n", "threshold"])


def null_text(*, simulated: bool, n_seeds: int, size: str) -> str:
    """What the verdicts' nulls are, for the batch page.

    Parameters
    ----------
    simulated
        Whether the book runs on the simulator (simulated nulls) or a real file (its own).
    n_seeds
        Null simulations per kind.
    size
        The matched simulations' size, in words.

    Returns
    -------
    str
    """
    if simulated:
        return (f"The nulls are simulations matched to this data ({size}), with no site or donor effect, over "
                f"{n_seeds} seeds. A simulated null scores the same kind of embedding as the row it judges: PCA "
                "for PCA, Harmony for Harmony, and for the VAEs our NB model *trained on each null simulation*; "
                "scVI and the two controls are judged against that VAE null too (the shuffled-label control is "
                "our NB latent, and the random embedding has its size).")
    return (f"On this real file the nulls come from the data itself: each embedding's batch labels are "
            f"permuted within cell type, keeping batch sizes and composition, {N_SHUFFLES} times, and scored "
            "like the row; biology counts as kept when it clears the upper prediction bound of the random "
            f"embedding's draws; within one donor or one site, the labels are permuted within those cells. "
            f"Simulated nulls ({size}, {n_seeds} seeds) serve only the power curves of the detection-limits page, "
            "which are statements "
            "about the method on simulated cells.")


def null_phrases(*, simulated: bool) -> dict[str, str]:
    """Short phrases naming the nulls, for the batch page's opening and the scope table's caption.

    Parameters
    ----------
    simulated
        Whether the book runs on the simulator (simulated nulls) or a real file (its own).

    Returns
    -------
    dict
        ``null_source`` and ``scope_null``.
    """
    if simulated:
        return {"null_source": "nulls simulated to match this data",
                "scope_null": "PCA's simulated null for PCA, the NB VAE's for both NB models"}
    return {"null_source": "nulls drawn from the data itself: its batch labels permuted within cell type",
            "scope_null": "each row's own labels permuted within the scope's cells and cell types"}


def subsample_masks(reps: dict, cells: np.ndarray) -> dict[str, list[np.ndarray]]:
    """The cell masks of each row whose replicates are subsamples of ``cells`` (PCA's), as they are scored.

    Parameters
    ----------
    reps
        :func:`~cellvae.study.calls.embeddings.batch_replicates` output.
    cells
        The scope's test cells.

    Returns
    -------
    dict
        Row name -> one mask per replicate, for :func:`data_thresholds`' ``subsamples``.
    """
    from .embeddings import subsample  # here: the import chain stays short

    return {n: [subsample(cells, sub) for _, _, sub in rs] for n, rs in reps.items()
            if rs and all(sub is not None for _, _, sub in rs)}
