"""Posterior predictive checks: do counts drawn from a trained model look like the held-out counts?

As scvi-tools' ``scvi.criticism`` does them: draw replicate count matrices from the model
(:meth:`cellvae.CellVAE.posterior_predictive_sample`), compute the same summary statistics
on the replicates and on the observed counts, and report how far apart they are.  The
statistics are the per-gene zero fraction, the per-gene and per-cell coefficient of
variation and the library size; the zero fraction is the direct test of whether a
zero-inflated likelihood is needed.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import scipy.sparse as sp
from scipy import stats

from ...data import get_variant, size_factors
from ...model import COUNT_LIKELIHOODS, posterior_predictive

#: Held-out cells scored per run (a seeded subset when there are more) and replicates drawn.
PPC_CELLS, PPC_SAMPLES = 2000, 3

#: Columns of :func:`ppc_errors`, with what each measures.
ERRORS = {
    "zero fraction MAE": "mean over genes of |replicate - observed| zero fraction",
    "gene CV log-ratio": "median over genes of |log(replicate CV / observed CV)|",
    "cell CV log-ratio": "median over cells of |log(replicate CV / observed CV)|",
    "library size KS": "Kolmogorov-Smirnov distance between the library-size distributions",
}


def count_statistics(counts) -> dict:
    """Per-gene zero fraction and CV, per-cell CV and library size of a count matrix.

    Parameters
    ----------
    counts
        Cells x genes, dense or scipy sparse.

    Returns
    -------
    dict
        ``zero_fraction`` and ``gene_cv`` (per gene), ``cell_cv`` and ``library`` (per
        cell), float64 arrays; a CV is NaN where the mean is 0.
    """
    x = counts.toarray() if sp.issparse(counts) else np.asarray(counts)
    x = x.astype(np.float64, copy=False)

    def cv(axis):
        m = x.mean(axis)
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(m > 0, x.std(axis) / m, np.nan)

    return {"zero_fraction": (x == 0).mean(0), "gene_cv": cv(0), "cell_cv": cv(1),
            "library": x.sum(1)}


def _median_abs_log_ratio(rep: np.ndarray, obs: np.ndarray) -> float:
    ok = np.isfinite(rep) & np.isfinite(obs) & (rep > 0) & (obs > 0)
    return float(np.median(np.abs(np.log(rep[ok] / obs[ok])))) if ok.any() else float("nan")


def ppc_errors(observed, replicates: np.ndarray) -> dict:
    """Distances between the observed counts' statistics and each replicate's, averaged.

    Parameters
    ----------
    observed
        Held-out cells x genes counts, dense or sparse.
    replicates
        ``(n_samples, cells, genes)`` replicate counts of the same cells.

    Returns
    -------
    dict
        One float per key of :data:`ERRORS` (0 is a perfect match), each averaged over
        the replicates.
    """
    obs = count_statistics(observed)
    rows = []
    for rep in replicates:
        r = count_statistics(rep)
        rows.append([np.abs(r["zero_fraction"] - obs["zero_fraction"]).mean(),
                     _median_abs_log_ratio(r["gene_cv"], obs["gene_cv"]),
                     _median_abs_log_ratio(r["cell_cv"], obs["cell_cv"]),
                     stats.ks_2samp(r["library"], obs["library"]).statistic])
    return dict(zip(ERRORS, np.mean(rows, axis=0).tolist()))


def gaussian_to_counts(values: np.ndarray, variant: str, size_factors: np.ndarray) -> np.ndarray:
    """Map a Gaussian model's replicates back to counts, inverting the data variant.

    Parameters
    ----------
    values
        ``(..., cells, genes)`` replicates on the variant's scale.
    variant
        ``"raw"`` (counts), ``"preprocessed"`` (counts / size factor) or ``"processed"``
        (log1p of that); see :func:`cellvae.data.get_variant`.
    size_factors
        ``(cells,)`` size factors the variant was computed with.

    Returns
    -------
    np.ndarray
        Non-negative whole numbers, shaped like ``values``: negative draws are counted
        as 0, and values are rounded.

    Raises
    ------
    ValueError
        For an unknown variant.
    """
    v = np.clip(values, 0, None)
    sf = np.asarray(size_factors, dtype=np.float64)[:, None]
    if variant == "raw":
        out = v
    elif variant == "preprocessed":
        out = v * sf
    elif variant == "processed":
        out = np.expm1(v) * sf
    else:
        raise ValueError(f"unknown variant {variant!r}")
    return np.round(out).astype(np.float32)


def ppc_table(observed, replicates: dict) -> pd.DataFrame:
    """One row of :func:`ppc_errors` per model.

    Parameters
    ----------
    observed
        Held-out counts, cells x genes.
    replicates
        Model name -> ``(n_samples, cells, genes)`` replicate counts of those cells.

    Returns
    -------
    pandas.DataFrame
        Index: model names; columns: :data:`ERRORS`.
    """
    return pd.DataFrame({name: ppc_errors(observed, rep) for name, rep in replicates.items()}).T


def run_ppc(module, adata, variant: str, mask: np.ndarray, batch=None, *, seed: int = 0) -> dict:
    """:func:`ppc_errors` of a trained model on the held-out cells ``mask`` (at most :data:`PPC_CELLS`).

    Parameters
    ----------
    module
        The trained :class:`cellvae.model.VAE`.
    adata
        Prepared data with ``layers['counts']``.
    variant
        The data variant the model was trained on; Gaussian replicates are mapped back to
        counts through it (:func:`gaussian_to_counts`).
    mask
        Boolean mask of the held-out cells.
    batch
        ``(n_cells,)`` batch codes of every cell for a batch-conditional model, else None.
    seed
        Seeds the subset and the draws.

    Returns
    -------
    dict
        The :data:`ERRORS` of :data:`PPC_SAMPLES` replicates.
    """
    rows = np.flatnonzero(mask)
    if rows.size > PPC_CELLS:
        rows = np.sort(np.random.default_rng(seed).choice(rows, PPC_CELLS, replace=False))
    x = get_variant(adata, variant)[rows]
    rep = posterior_predictive(module, x, batch=None if batch is None else batch[rows],
                               n_samples=PPC_SAMPLES, seed=seed)
    if module.cfg.likelihood not in COUNT_LIKELIHOODS:
        rep = gaussian_to_counts(rep, variant, size_factors(adata)[rows])
    return ppc_errors(adata.layers["counts"][rows], rep)
