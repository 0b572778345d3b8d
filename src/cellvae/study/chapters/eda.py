"""Summaries behind the exploration chapter: design, composition, count distributions."""

from __future__ import annotations

import anndata as ad
import numpy as np
import pandas as pd

from ...data import pearson_residual_moments, variant_blocks
from ..runner.bookdata import UNKNOWN


def design_table(adata: ad.AnnData) -> pd.DataFrame:
    """Cells per site x donor batch, with site and donor margins.

    Parameters
    ----------
    adata
        Data with ``obs['DonorNumber']`` and ``obs['Site']``.

    Returns
    -------
    pandas.DataFrame
        Cell counts, donors (index ``donor``) by sites (columns ``site``), each with a
        ``total`` margin.
    """
    tab = pd.crosstab(adata.obs["DonorNumber"].astype(str), adata.obs["Site"].astype(str),
                      margins=True, margins_name="total")
    tab.index.name, tab.columns.name = "donor", "site"
    return tab


def _n(k: int, one: str, many: str) -> str:
    return f"{k} {one if k == 1 else many}"


def design_counts(obs: pd.DataFrame) -> str:
    """Donors, sites, batches and cell types, as a sentence; unrecorded site or donor is said so.

    Parameters
    ----------
    obs
        Cell metadata with ``DonorNumber``, ``Site``, ``batch`` and ``cell_type``.

    Returns
    -------
    str
    """
    types = _n(obs["cell_type"].nunique(), "cell-type label", "cell-type labels")
    batches = _n(obs["batch"].nunique(), "batch", "batches")
    lacking = [w for w, c in (("donor", "DonorNumber"), ("site", "Site")) if (obs[c].astype(str) == UNKNOWN).all()]
    if lacking:
        return f"The cells come in {batches} and carry {types}; the file records no {' or '.join(lacking)}."
    return (f"The cells come from {_n(obs['DonorNumber'].nunique(), 'donor', 'donors')} processed at "
            f"{_n(obs['Site'].nunique(), 'site', 'sites')}, in {batches} (site x donor), and carry {types}.")


#: What a batch is (``uns['design']['batch_is']`` of a real file), where it decides the sentence.
_KIND_SENTENCE = {
    "pooled donors": ("Each batch is a donor, and the donors were pooled in the same lanes, so no "
                      "technical batch effect separates them: a difference between batches is donor "
                      "biology, in composition or expression, and an integration that removes it "
                      "removes biology."),
    "donor": ("Each batch is one donor, processed on its own, so a batch effect mixes technique with "
              "donor biology and the two cannot be told apart here."),
}


def design_sentence(design: pd.DataFrame, *, batch_is: str | None = None) -> str:
    """What the site x donor design lets the data separate, as a sentence for the page.

    Parameters
    ----------
    design
        :func:`design_table` output.
    batch_is
        What a batch is, as the file's design says (:data:`cellvae.data.BATCH_KINDS`);
        ``"pooled donors"`` decides the sentence, as does ``"donor"`` on a file that records no
        site.  ``None`` (the simulator, the starter) reads the design from the table alone.

    Returns
    -------
    str
        The design the file states (``batch_is``), or one of four verdicts chosen from the table: a single site (no site effect is
        measurable), every donor at every site (crossed: separable), no donor at two sites
        (fully confounded), or some donors shared (partly confounded; the largest shared
        donor, its sites and its share of the cells are named).
    """
    body = design.drop(index="total").drop(columns="total")
    n_sites = body.shape[1]
    sites_per_donor = (body > 0).sum(axis=1)
    if batch_is == "pooled donors" or (batch_is == "donor" and UNKNOWN in body.columns):
        return _KIND_SENTENCE[batch_is]
    if UNKNOWN in body.columns or UNKNOWN in body.index:
        return ("This file records no site or donor for its cells, so site and donor effects cannot "
                "be told apart here: a batch effect is only a batch effect.")
    if n_sites == 1:
        return ("All cells come from one site, so no site effect can be measured here: "
                "each batch is one donor, and a batch effect is a donor effect.")
    if n_sites > 1 and sites_per_donor.min() == n_sites:
        return (f"Every donor was sampled at every one of the {n_sites} sites, so site and donor "
                "effects are crossed and can be separated.")
    if sites_per_donor.max() < 2:
        return (f"No donor was sampled at more than one of the {n_sites} sites, so site and donor "
                "effects are fully confounded and cannot be told apart.")
    top = design.drop(index="total").loc[sites_per_donor[sites_per_donor > 1].index, "total"].idxmax()
    share = design.loc[top, "total"] / design.loc["total", "total"]
    return (f"Donor {top} was sampled at {sites_per_donor[top]} sites and contributes {share:.0%} of "
            "the cells. Site and donor are therefore partly confounded: a site effect can only be "
            "separated from a donor effect through the donors shared between sites.")


def batch_table(adata: ad.AnnData) -> pd.DataFrame:
    """One row per batch: site, donor, cells, cell types present, median library size.

    Parameters
    ----------
    adata
        Data with raw counts in ``layers['counts']`` and ``obs`` columns ``batch``, ``Site``,
        ``DonorNumber`` and ``cell_type``.

    Returns
    -------
    pandas.DataFrame
        Indexed by batch; the library size is raw counts per cell, rounded to an integer.
    """
    obs = adata.obs.assign(lib=np.asarray(adata.layers["counts"].sum(1)).ravel())
    g = obs.groupby("batch", observed=True)
    return pd.DataFrame({
        "site": g["Site"].first().astype(str), "donor": g["DonorNumber"].first().astype(str),
        "cells": g.size(), "cell types": g["cell_type"].nunique(),
        "median library size": g["lib"].median().round(0).astype(int),
    })


def composition(adata: ad.AnnData, *, by: str = "DonorNumber") -> pd.DataFrame:
    """Fraction of each cell type (rows) within each group of ``by`` (columns).

    Parameters
    ----------
    adata
        Data with ``obs['cell_type']``.
    by
        The ``obs`` column whose values form the groups (donor by default).

    Returns
    -------
    pandas.DataFrame
        Each column sums to 1; rows are ordered by mean fraction over groups, largest first.
    """
    tab = pd.crosstab(adata.obs["cell_type"].astype(str), adata.obs[by].astype(str), normalize="columns")
    return tab.loc[tab.mean(1).sort_values(ascending=False).index]


def donor_counts(adata: ad.AnnData, *, by: str = "DonorNumber") -> pd.DataFrame:
    """Cells, total raw counts and median library size per donor.

    Parameters
    ----------
    adata
        Data with raw counts in ``layers['counts']`` and ``obs[by]``.
    by
        The group column: donors by default, batches on a file that records no donor.

    Returns
    -------
    pandas.DataFrame
        Indexed by donor, with columns ``cells``, ``total counts`` and ``median library size``
        (raw counts per cell).
    """
    lib = np.asarray(adata.layers["counts"].sum(1)).ravel()
    g = pd.DataFrame({"donor": adata.obs[by].astype(str).to_numpy(), "lib": lib}).groupby("donor")
    return pd.DataFrame({"cells": g.size(), "total counts": g["lib"].sum(), "median library size": g["lib"].median()})


def value_summary(adata: ad.AnnData, variants=("raw", "preprocessed", "processed")) -> pd.DataFrame:
    """Table 1: min, max, mean and zero fraction of each data variant.

    Parameters
    ----------
    adata
        Prepared data with ``layers['counts']``.
    variants
        Names accepted by :func:`cellvae.data.get_variant`.

    Returns
    -------
    pandas.DataFrame
        One row per variant; columns ``min``, ``max``, ``mean`` (over all matrix entries)
        and ``zero fraction``.
    """
    rows, n = {}, adata.n_obs * adata.n_vars
    for v in variants:  # over blocks of cells: no full copy of a variant
        lo, hi, total, nonzero = np.inf, -np.inf, 0.0, 0
        for blk in variant_blocks(adata, v):
            implicit = () if blk.nnz == blk.shape[0] * blk.shape[1] else (0.0,)  # unstored zeros
            lo = min(lo, *implicit, float(blk.data.min(initial=np.inf)))
            hi = max(hi, *implicit, float(blk.data.max(initial=-np.inf)))
            total += float(blk.data.sum(dtype=np.float64))
            nonzero += blk.count_nonzero()
        rows[v] = {"min": lo, "max": hi, "mean": total / n, "zero fraction": 1.0 - nonzero / n}
    return pd.DataFrame(rows).T


def nonzero_values(adata: ad.AnnData, variant: str) -> np.ndarray:
    """The non-zero entries of a sparse data variant.

    Parameters
    ----------
    adata
        Prepared data with ``layers['counts']``.
    variant
        A name accepted by :func:`cellvae.data.get_variant`.

    Returns
    -------
    numpy.ndarray
        1-D float32 array of the stored entries of the cells x genes matrix.
    """
    out, pos = np.empty(adata.layers["counts"].nnz, dtype=np.float32), 0
    for blk in variant_blocks(adata, variant):  # filled block by block: no full copy
        out[pos:pos + blk.nnz] = blk.data
        pos += blk.nnz
    return out[:pos]


def quantile_filter(values: np.ndarray, *, q: float = 0.999) -> tuple[np.ndarray, float]:
    """Values at or below the ``q`` quantile, and that cut-off (the original's Fig 4).

    Parameters
    ----------
    values
        1-D array of values, e.g. from :func:`nonzero_values`.
    q
        Quantile in [0, 1] used as the upper cut-off.

    Returns
    -------
    kept : numpy.ndarray
        The values ``<= cut``, in their original order.
    cut : float
        The ``q`` quantile of ``values``.
    """
    cut = float(np.quantile(values, q))
    return values[values <= cut], cut


def mean_variance(adata: ad.AnnData, variants=("raw", "preprocessed", "processed", "pearson")) -> pd.DataFrame:
    """Per-gene mean and variance under each variant (long format).

    Parameters
    ----------
    adata
        Prepared data with raw counts in ``layers['counts']``.
    variants
        Names accepted by :func:`cellvae.data.get_variant`, or ``"pearson"`` for analytic
        Pearson residuals of the counts (:func:`cellvae.data.pearson_residual_moments`).

    Returns
    -------
    pandas.DataFrame
        One row per gene and variant, with columns ``variant``, ``mean`` and ``variance``
        (population variance over cells).
    """
    out = []
    for v in variants:
        if v == "pearson":  # chunked over cells: the dense residual matrix never exists
            mean, var = pearson_residual_moments(adata.layers["counts"])
        else:  # over blocks of cells, accumulated in float64
            s1, s2 = np.zeros(adata.n_vars), np.zeros(adata.n_vars)
            for blk in variant_blocks(adata, v):
                s1 += np.bincount(blk.indices, weights=blk.data, minlength=adata.n_vars)
                s2 += np.bincount(blk.indices, weights=blk.data.astype(np.float64) ** 2, minlength=adata.n_vars)
            mean = s1 / adata.n_obs
            var = s2 / adata.n_obs - mean**2
        out.append(pd.DataFrame({"variant": v, "mean": mean, "variance": var}))
    return pd.concat(out, ignore_index=True)


def fit_nb_overdispersion(mean: np.ndarray, var: np.ndarray) -> float:
    """Least-squares phi in var = mean + phi * mean^2 over genes with mean > 0.

    Parameters
    ----------
    mean, var
        Per-gene mean and variance of the raw counts, aligned 1-D arrays.

    Returns
    -------
    float
        The negative-binomial overdispersion phi (1 / theta); 0 means Poisson.
    """
    m = mean > 0
    return float(np.sum((var[m] - mean[m]) * mean[m] ** 2) / np.sum(mean[m] ** 4))


#: Below this fitted phi the counts are read as Poisson (the NB's variance excess is negligible).
PHI_POISSON = 0.05


def overdispersion_reading(phi: float) -> str:
    """What the fitted overdispersion says about the choice of count likelihood.

    Parameters
    ----------
    phi
        :func:`fit_nb_overdispersion` output.

    Returns
    -------
    str
        Overdispersed relative to Poisson (phi above :data:`PHI_POISSON`), or close to it.
    """
    if phi > PHI_POISSON:
        return ("the raw counts are overdispersed relative to Poisson, which is what the negative binomial "
                "decoder of the next chapter models")
    return (f"the raw counts are close to Poisson (phi under {PHI_POISSON:g}), a limit the negative binomial "
            "decoder of the next chapter reaches as its inverse dispersion grows")

