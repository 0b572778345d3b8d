"""Cell-cycle conservation, as scIB defines it, for the batch chapter's bio-conservation columns.

Each cell's S and G2/M scores come from scanpy's ``score_genes_cell_cycle`` on log-normalised
counts, over the Tirosh et al. (2016) markers the data hold.  Within each batch, principal
component regression (:func:`pcr`) measures the share of an embedding's variance that the two
scores explain, before integration (the PCA) and after; the batch scores
``1 - |after - before| / before``, clipped to [0, 1], and the metric is their mean.  An
embedding that keeps the cell cycle's share of variance scores 1; one that erases or inflates
it scores less.  The data's own ``GEX_phase`` labels are not used: they are calls from these
same scores on all genes, and on the shipped starter they call 76% of cells G2M, mature
monocytes included.
"""

from __future__ import annotations

import anndata as ad
import numpy as np
import pandas as pd

from ...data.calibration import CC_G2M_GENES, CC_S_GENES

#: Fewest markers of each list the data must hold for the scores to be computed.
MIN_MARKERS = 3
#: Fewest cells a batch needs to be scored.
MIN_CELLS = 20


def cycle_scores(adata: ad.AnnData, *, min_markers: int = MIN_MARKERS, seed: int = 0) -> np.ndarray | None:
    """S and G2/M scores of every cell, or None where the data hold too few markers.

    Parameters
    ----------
    adata
        Data with raw counts in ``layers['counts']`` and gene symbols as ``var_names``.
    min_markers
        Fewest markers of each list needed among the genes.
    seed
        Seeds scanpy's choice of control genes.

    Returns
    -------
    numpy.ndarray or None
        Cells x 2 (S, G2/M); None without a counts layer or with fewer than ``min_markers``
        markers of either phase.
    """
    import scanpy as sc

    s = [g for g in CC_S_GENES if g in adata.var_names]
    g2m = [g for g in CC_G2M_GENES if g in adata.var_names]
    if "counts" not in adata.layers or min(len(s), len(g2m)) < min_markers:
        return None
    tmp = ad.AnnData(X=adata.layers["counts"].astype(np.float32), var=pd.DataFrame(index=adata.var_names.copy()),
                     obs=pd.DataFrame(index=adata.obs_names.copy()))
    sc.pp.normalize_total(tmp, target_sum=1e4)
    sc.pp.log1p(tmp)
    sc.tl.score_genes_cell_cycle(tmp, s_genes=s, g2m_genes=g2m, random_state=seed)
    return tmp.obs[["S_score", "G2M_score"]].to_numpy(np.float64)


def pcr(x: np.ndarray, covariate: np.ndarray) -> float:
    """Principal component regression: the share of ``x``'s variance that ``covariate`` explains.

    Each principal component of ``x`` is regressed on the centred covariates; its R² is
    weighted by the component's variance (scIB's ``pc_regression``; scib-metrics' version
    takes one covariate column).

    Parameters
    ----------
    x
        Cells x dimensions.
    covariate
        Cells x covariates (or one covariate per cell).

    Returns
    -------
    float
        In [0, 1].
    """
    x = np.asarray(x, np.float64)
    c = np.asarray(covariate, np.float64).reshape(len(x), -1)
    x, c = x - x.mean(0), c - c.mean(0)
    u, s, _ = np.linalg.svd(x, full_matrices=False)
    pcs, var = u * s, s**2
    beta = np.linalg.lstsq(c, pcs, rcond=None)[0]
    total = (pcs**2).sum(0)
    r2 = np.clip(1 - ((pcs - c @ beta) ** 2).sum(0) / np.where(total > 0, total, 1), 0, 1)
    return float((r2 * var).sum() / var.sum()) if var.sum() > 0 else float("nan")


def cell_cycle_conservation(emb: np.ndarray, pre: np.ndarray, scores: np.ndarray, batch: np.ndarray,
                            *, min_cells: int = MIN_CELLS) -> float:
    """scIB's cell-cycle conservation of ``emb`` against the unintegrated ``pre``.

    Parameters
    ----------
    emb
        The embedding (cells x dimensions).
    pre
        The unintegrated embedding of the same cells (the PCA).
    scores
        :func:`cycle_scores` of the same cells.
    batch
        Batch of each cell.
    min_cells
        Batches with fewer cells are left out.

    Returns
    -------
    float
        Mean over batches of ``1 - |after - before| / before``, clipped to [0, 1]; NaN when
        no batch has the cells, or the cell cycle explains none of the unintegrated variance.
    """
    batch = np.asarray(batch)
    vals = []
    for b in pd.unique(batch):
        m = batch == b
        if m.sum() < min_cells:
            continue
        before, after = pcr(pre[m], scores[m]), pcr(emb[m], scores[m])
        if np.isfinite(before) and before > 0:
            vals.append(float(np.clip(1 - abs(after - before) / before, 0, 1)))
    return float(np.mean(vals)) if vals else float("nan")


def marker_text(adata: ad.AnnData, *, min_markers: int = MIN_MARKERS) -> str:
    """How many markers of each phase the data hold, and whether that is enough to score.

    Parameters
    ----------
    adata
        The scored data.
    min_markers
        As for :func:`cycle_scores`.

    Returns
    -------
    str
        E.g. ``"scored from 7 S-phase and 6 G2/M markers among the genes"``.
    """
    s = sum(g in adata.var_names for g in CC_S_GENES)
    g2m = sum(g in adata.var_names for g in CC_G2M_GENES)
    held = f"{s} S-phase and {g2m} G2/M markers among the genes"
    if "counts" not in adata.layers:
        return f"not measurable here: no raw counts to score the {held}"
    if min(s, g2m) < min_markers:
        return f"not measurable here: {held}, fewer than {min_markers} of a phase"
    return f"scored from {held}"
