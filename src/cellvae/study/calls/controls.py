"""Simulated control data for the batch-effect metrics: the study's design with chosen effects.

:func:`control_data` simulates and prepares the design at a given site and donor effect
strength; :func:`matched_controls` sizes it to a real file; :func:`scopes` names the three
sets of cells and batch columns every batch score is taken on.  The calibrated nulls and the
dose-response curve built on them live in :mod:`cellvae.study.calls.calibration`.
"""

from __future__ import annotations

import anndata as ad
import numpy as np
import pandas as pd

from ...data import prepare, simulate_bmmc
from ...data.simulate import BATCHES

#: Control size: large enough for 12 batches x 45 types, small enough for CI.
CONTROL_SIM = dict(n_cells=4000, n_genes=2000)
CONTROL_HVGS = 1000
#: The false-positive rate of every null-based decision in the book: one null draw in 20
#: falls beyond its bound.
FPR = 0.05
#: Each injected effect and the scope that isolates it (the dose curves and detection limits).
EFFECT_SCOPES = (("site", "site within donor"), ("donor", "donor within site"))


#: Matched controls never simulate more cells than this: a control for the full GEO file at
#: 20,000 cells keeps ~1,700 per batch, enough for kBET and iLISI, in minutes rather than hours.
CONTROL_MAX_CELLS = 20_000


def prediction_bounds(null, *, fpr: float = FPR) -> tuple[float, float]:
    """One-sided prediction bounds of a null: mean -/+ t(1-fpr, n-1) * sd * sqrt(1 + 1/n).

    A new draw from the null falls below the lower bound (or above the upper one) with
    probability ``fpr``, if the null is normal.

    Parameters
    ----------
    null
        Null scores, one per seed, shuffle or random draw (at least two finite ones).
    fpr
        The false-positive rate of each bound.

    Returns
    -------
    tuple of float
        (lower, upper).

    Raises
    ------
    ValueError
        With fewer than two finite null scores.
    """
    from scipy.stats import t

    x = np.asarray(null, float)
    x = x[np.isfinite(x)]
    if len(x) < 2:
        raise ValueError(f"a prediction bound needs at least two null scores, got {len(x)}")
    n = len(x)
    half = t.ppf(1 - fpr, n - 1) * x.std(ddof=1) * np.sqrt(1 + 1 / n)
    return float(x.mean() - half), float(x.mean() + half)


def control_data(*, site_effect: float, donor_effect: float, seed: int = 0, batches: tuple | None = None,
                 hvgs: int = CONTROL_HVGS, **sim) -> ad.AnnData:
    """A prepared simulated dataset with the given true effect strengths.

    Parameters
    ----------
    site_effect, donor_effect
        True effect strengths (0 for a null).
    seed
        Simulation and split seed.
    batches
        Keep only these of the simulator's batches (e.g. ``("s1d1", "s1d2")``); None keeps all 12.
    hvgs
        HVGs kept by :func:`~cellvae.data.prepare`.
    **sim
        Overrides of :data:`CONTROL_SIM` (``n_cells``, ``n_genes``).

    Returns
    -------
    anndata.AnnData
        Prepared data.
    """
    kw = CONTROL_SIM | sim
    raw = simulate_bmmc(kw["n_cells"], kw["n_genes"], site_effect=site_effect, donor_effect=donor_effect, seed=seed)
    if batches is not None:
        raw = raw[raw.obs["batch"].isin(batches).to_numpy()].copy()
    return prepare(raw, n_top_genes=min(hvgs, kw["n_genes"]), seed=seed)


def matched_cells(adata: ad.AnnData) -> int:
    """Cells the data's matched controls hold: all of them, at most :data:`CONTROL_MAX_CELLS`.

    Parameters
    ----------
    adata
        The book data.

    Returns
    -------
    int
    """
    return min(adata.n_obs, CONTROL_MAX_CELLS)


def matched_controls(adata: ad.AnnData) -> dict:
    """Control settings matched to a real file's cells, batches and HVGs; none for simulated data.

    Parameters
    ----------
    adata
        The book data (:func:`~cellvae.study.runner.bookdata.book_data`).

    Returns
    -------
    dict
        ``{}`` for simulated data (the :data:`CONTROL_SIM` default).  For a real file:
        ``batches`` (its batches the simulator knows by name, else as many of the
        simulator's), ``n_cells`` (simulated so that those batches hold the file's cells, at
        most :data:`CONTROL_MAX_CELLS` in them), ``n_genes`` and ``hvgs`` (the file's).
    """
    if "simulation" in adata.uns:
        return {}
    own = sorted(set(adata.obs["batch"].astype(str)))
    names = [b for b in own if b in BATCHES]
    # at least two batches, or the controls' batch metrics are undefined; stand-ins in the simulator's order
    names += [b for b in BATCHES if b not in names][:max(0, max(2, len(own)) - len(names))]
    share = sum(BATCHES[b] for b in names) / sum(BATCHES.values())
    return {"batches": tuple(names), "n_cells": int(np.ceil(matched_cells(adata) / share)), "n_genes": 2 * adata.n_vars,
            "hvgs": adata.n_vars}


def _donor_and_site(obs: pd.DataFrame) -> tuple[str, str]:
    """The donor seen at the most sites and the site with the most donors (first by name on ties)."""
    donor = obs.groupby("DonorNumber")["Site"].nunique().sort_index().idxmax()
    site = obs.groupby("Site")["DonorNumber"].nunique().sort_index().idxmax()
    return donor, site


def scopes(adata: ad.AnnData) -> dict[str, tuple[np.ndarray, str]]:
    """The three scopes: name -> (cell mask, batch column).

    Parameters
    ----------
    adata
        Data with ``Site`` and ``DonorNumber``.

    Returns
    -------
    dict
        ``"all batches"`` (every cell, ``batch``); ``"site within donor"`` (the donor seen
        at the most sites, ``Site``); ``"donor within site"`` (the site with the most
        donors, ``DonorNumber``).  The last two only where the data records both site and donor.
    """
    from ..runner.bookdata import recorded  # here: the import chain stays short

    obs = adata.obs[["Site", "DonorNumber"]].astype(str)
    donor, site = _donor_and_site(obs)
    out = {"all batches": (np.ones(adata.n_obs, bool), "batch"),
           "site within donor": ((obs["DonorNumber"] == donor).to_numpy(), "Site"),
           "donor within site": ((obs["Site"] == site).to_numpy(), "DonorNumber")}
    # a scope that splits by a column the data does not record, or groups within one, is not a scope
    both = recorded(obs, "Site") and recorded(obs, "DonorNumber")
    return {k: v for k, v in out.items() if k == "all batches" or both}


def scope_labels(adata: ad.AnnData) -> dict[str, str]:
    """Readable scope names with the donor and site they use.

    Parameters
    ----------
    adata
        Data with ``Site`` and ``DonorNumber``.

    Returns
    -------
    dict
        Scope -> name, e.g. ``"site within donor"`` -> ``"site within donor1"``.
    """
    donor, site = _donor_and_site(adata.obs[["Site", "DonorNumber"]].astype(str))
    return {"all batches": "all batches", "site within donor": f"site within {donor}",
            "donor within site": f"donor within {site}"}
