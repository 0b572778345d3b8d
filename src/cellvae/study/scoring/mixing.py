"""Batch mixing measured against the same embedding with its batch labels shuffled within cell type.

iLISI and kBET per label, as scib-metrics computes them, also respond to how an embedding
places cell types: on a random Gaussian embedding a cell's neighbours are rarely of its own
type, kBET's per-type graphs fall apart, and it scores about 0.34 while every batch is
perfectly mixed.  A raw score therefore confounds structure with batch.  Here each score is
divided by its value on the *same* neighbour graph with the batch labels permuted within
each cell type (:func:`shuffle_within`): that keeps the graph and the batch composition of
every type, and breaks only the link between batch and position.  The statistic

    batch mixing = mean(iLISI / iLISI_shuffled, kBET / kBET_shuffled)

is about 1 for any embedding whose batches are mixed, structured or not, and falls below 1
as batches separate.  The shuffles also give its own null: each shuffle scored against the
others (:func:`mixing_scores`'s ``null``), a permutation test of the embedding.
"""

from __future__ import annotations

import warnings

import numpy as np

#: The decision statistic's name, in every table.
MIXING = "Batch mixing"
#: Batch-label shuffles per embedding: the reference and, left out one at a time, the null.
N_SHUFFLES = 5
#: Neighbours of iLISI's and kBET's graphs, as scib-metrics' Benchmarker sets them.
ILISI_NEIGHBORS, KBET_NEIGHBORS = 90, 50


def shuffle_within(batch: np.ndarray, labels: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Batch labels permuted within each cell type.

    Parameters
    ----------
    batch, labels
        One batch and one cell type per cell.
    rng
        Generator of the permutation.

    Returns
    -------
    numpy.ndarray
        A copy of ``batch`` with each type's labels permuted among its own cells.
    """
    out = np.asarray(batch).copy()
    for lab in np.unique(labels):
        idx = np.flatnonzero(labels == lab)
        out[idx] = out[rng.permutation(idx)]
    return out


def raw_scores(nn, batch: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """scib-metrics' iLISI (90 neighbours) and kBET per label (50 neighbours) on one graph.

    Parameters
    ----------
    nn
        ``scib_metrics.nearest_neighbors.NeighborsResults`` with at least 90 neighbours.
    batch, labels
        One batch and one cell type per cell.

    Returns
    -------
    numpy.ndarray
        ``[iLISI, kBET]``; kBET is NaN where no cell type holds two batches.
    """
    return _raw(_graphs(nn), batch, labels)


def _graphs(nn) -> tuple:
    """iLISI's and kBET's neighbour graphs, made once: kBET's caches its connectivities."""
    return nn.subset_neighbors(ILISI_NEIGHBORS), nn.subset_neighbors(KBET_NEIGHBORS)


def _raw(graphs: tuple, batch: np.ndarray, labels: np.ndarray) -> np.ndarray:
    import scib_metrics

    ilisi_nn, kbet_nn = graphs
    return np.array([float(scib_metrics.ilisi_knn(ilisi_nn, batch)),
                     float(scib_metrics.kbet_per_label(kbet_nn, batch, labels))])


def _colmean(a: np.ndarray) -> np.ndarray:
    """Column means over the finite rows; NaN for a column with none."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # an all-NaN kBET column
        return np.nanmean(a, axis=0)


def _relative(obs: np.ndarray, ref: np.ndarray) -> float:
    """Mean of obs / ref over the scores whose reference is positive; NaN if none is."""
    ok = np.isfinite(obs) & np.isfinite(ref) & (ref > 0)
    return float(np.mean(obs[ok] / ref[ok])) if ok.any() else float("nan")


def mixing_scores(nn, batch: np.ndarray, labels: np.ndarray, *, n_shuffles: int = N_SHUFFLES,
                  seed: int = 0) -> dict:
    """Batch mixing of one embedding relative to its within-type shuffles, and its permutation null.

    Parameters
    ----------
    nn
        The embedding's neighbour graph (``NeighborsResults``, at least 90 neighbours).
    batch, labels
        One batch and one cell type per cell.
    n_shuffles
        Within-type shuffles (at least two).
    seed
        Seeds the shuffles.

    Returns
    -------
    dict
        ``iLISI`` and ``KBET`` (raw), ``iLISI shuffled`` and ``KBET shuffled`` (their means
        over the shuffles), ``Batch mixing`` (:data:`MIXING`, the statistic above) and ``null``: each
        shuffle's mixing against the other shuffles, the statistic's values when batch
        carries no information about position.

    Raises
    ------
    ValueError
        With fewer than two shuffles.
    """
    if n_shuffles < 2:
        raise ValueError(f"a shuffle null needs at least two shuffles, got {n_shuffles}")
    batch, labels = np.asarray(batch).astype(str), np.asarray(labels).astype(str)
    rng = np.random.default_rng(seed)
    graphs = _graphs(nn)
    obs = _raw(graphs, batch, labels)
    shuf = np.array([_raw(graphs, shuffle_within(batch, labels, rng), labels) for _ in range(n_shuffles)])
    ref = _colmean(shuf)
    null = [_relative(shuf[i], _colmean(np.delete(shuf, i, axis=0))) for i in range(n_shuffles)]
    return {"iLISI": obs[0], "KBET": obs[1], "iLISI shuffled": ref[0], "KBET shuffled": ref[1],
            MIXING: _relative(obs, ref), "null": null}
