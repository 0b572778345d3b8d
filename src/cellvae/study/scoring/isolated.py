"""The isolated-label score, left out where its labels are too small to read.

scib-metrics' isolated-label score averages, label by label, the silhouettes of the labels found
in the fewest batches.  At a few hundred test cells those are rare types of a handful of cells, each
weighing as much as a large one, so the score moves with a few cells.  Whether it is left out is
decided once per dataset (:func:`drops_isolated`), so every table of that dataset averages the
same metrics.
"""

from __future__ import annotations

import anndata as ad
import numpy as np
import pandas as pd

from ..runner.scored import scored_cells

#: Scored cells an isolated label needs: the isolated-label score is the mean, label by label, of
#: the silhouettes of the labels found in the fewest batches, each label weighing alike, so one
#: label of a few cells moves it as much as a large one (assumed, as scIB sets no minimum; at
#: the book's 600 test cells the isolated labels are rare types of 1 to 9 cells).  Below this
#: the score is left out, and the bio aggregate is the mean of the other Benchmarker metrics.
MIN_GROUP = 20
#: Cells below which scib-metrics' kBET skips a cell type (its own minimum, not ours).
KBET_MIN_CELLS = 10
#: The Benchmarker's bio-conservation metrics: its aggregate, :data:`BIO`, is their mean.
BENCH_BIO = ("Isolated labels", "KMeans NMI", "KMeans ARI", "Silhouette label", "cLISI")
#: The bio-conservation aggregate, one of the verdicts' two statistics (the other is batch mixing).
BIO = "Bio conservation"
#: Weights of the batch and the bio aggregate in the total, as scIB and the Benchmarker set them.
TOTAL_WEIGHTS = (0.4, 0.6)


def isolated_label_sizes(labels: np.ndarray, batch: np.ndarray) -> pd.Series:
    """Cells of each isolated label: those found in the fewest batches, as scib-metrics picks them.

    Parameters
    ----------
    labels, batch
        Each scored cell's label and batch.

    Returns
    -------
    pandas.Series
        Label -> cells, smallest first.
    """
    obs = pd.DataFrame({"label": np.asarray(labels).astype(str), "batch": np.asarray(batch).astype(str)})
    per_label = obs.drop_duplicates().groupby("label")["batch"].size()
    iso = per_label.index[per_label <= per_label.min()]
    return obs["label"].value_counts()[iso].sort_values(kind="stable")


def drops_isolated(adata: ad.AnnData, *, label_key: str = "cell_type") -> bool:
    """Whether a dataset's isolated-label score is left out: one of its isolated labels is too small.

    Decided once per dataset, on its scored test cells (all cells without a split) and its own
    ``batch`` column, so that every row, replicate and scope of its tables averages the same
    metrics, whatever cells or batch column a single score reads.

    Parameters
    ----------
    adata
        Data with ``obs['batch']`` and the label column.
    label_key
        obs column of the cell types.

    Returns
    -------
    bool
        True when an isolated label holds fewer than :data:`MIN_GROUP` of those cells.
    """
    obs = adata.obs[scored_cells(adata)] if "split" in adata.obs else adata.obs
    return bool(isolated_label_sizes(obs[label_key].to_numpy(), obs["batch"].to_numpy()).min() < MIN_GROUP)


def leave_out_isolated(res: pd.DataFrame, drop: bool) -> pd.DataFrame:
    """The Benchmarker's results with isolated labels left out (NaN), and the bio aggregate and total without it.

    Parameters
    ----------
    res
        Unscaled results, one row per embedding, with the Benchmarker's aggregates.
    drop
        Whether to leave it out (:func:`drops_isolated`).

    Returns
    -------
    pandas.DataFrame
        ``res`` itself, changed in place when ``drop``.
    """
    if not drop:
        return res
    res["Isolated labels"] = np.nan
    res[BIO] = res[[c for c in BENCH_BIO if c in res and c != "Isolated labels"]].mean(axis=1)
    res["Total"] = TOTAL_WEIGHTS[0] * res["Batch correction"] + TOTAL_WEIGHTS[1] * res[BIO]
    return res
