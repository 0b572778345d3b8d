"""Positive and null controls for the batch-effect metrics, on simulated data.

The same study design is simulated with a known site/donor effect and with
none.  The unintegrated PCA of each is scored; the null is repeated over seeds
to measure chance variation.  An embedding is called batch-affected when its
batch-mixing score (mean of iLISI and kBET) is more than ``margin`` below the
null mean.
"""

from __future__ import annotations

from dataclasses import dataclass

import anndata as ad
import numpy as np
import pandas as pd

from ..data import prepare, simulate_bmmc
from ..data.simulate import BATCHES
from ..model import VAEConfig
from .grid import RunSpec, batch_pair
from .metrics import PCA_KEY, cached_scib_scores, pca
from .report import BOOK_SIM
from .runs import run_all

#: Control size: large enough for 12 batches x 45 types, small enough for CI.
CONTROL_SIM = dict(n_cells=4000, n_genes=2000)
CONTROL_HVGS = 1000
#: Default decision margin on the batch-mixing score (justified in the batch chapter by the
#: null's seed-to-seed s.d. and the injected effect's drop; checked by tests/test_controls.py).
MARGIN = 0.1


#: Matched controls never simulate more cells than this: a control for the full GEO file at
#: 20,000 cells keeps ~1,700 per batch, enough for kBET and iLISI, in minutes rather than hours.
CONTROL_MAX_CELLS = 20_000
#: A batch correction "keeps cell-type structure" if it lowers the biology-conservation score by
#: less than this: half the decision margin on batch mixing, so a correction is not credited
#: with removing the effect when it gives up more structure than that.
BIO_TOLERANCE = 0.05


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


def matched_controls(adata: ad.AnnData) -> dict:
    """Control settings matched to a real file's cells, batches and HVGs; none for simulated data.

    Parameters
    ----------
    adata
        The book data (:func:`~cellvae.study.report.book_data`).

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
    cells = min(adata.n_obs, CONTROL_MAX_CELLS)
    return {"batches": tuple(names), "n_cells": int(np.ceil(cells / share)), "n_genes": 2 * adata.n_vars,
            "hvgs": adata.n_vars}


def controls_sentence(adata: ad.AnnData, matched: dict) -> str:
    """How the controls are sized, for the batch chapter.

    Parameters
    ----------
    adata
        The book data.
    matched
        :func:`matched_controls` output.

    Returns
    -------
    str
    """
    if not matched:
        return (f"The controls use {CONTROL_SIM['n_cells']:,} simulated cells in all {len(BATCHES)} batches and "
                f"{CONTROL_HVGS:,} HVGs, the default control size.")
    own = sorted(set(adata.obs["batch"].astype(str)))
    sims = ", ".join(matched["batches"])
    which = (f"the simulator's batches {sims}, the file's own" if set(matched["batches"]) == set(own) else
             f"the simulator's batches {sims} standing in for the file's {', '.join(own)}")
    return (f"The controls are matched to this file: {which}, with {min(adata.n_obs, CONTROL_MAX_CELLS):,} "
            f"simulated cells in them and {matched['hvgs']:,} genes.")


def _scores(adata: ad.AnnData, key: str, emb: np.ndarray | None = None) -> dict:
    if emb is not None:
        adata.obsm[key] = emb
    return cached_scib_scores(adata, key)


def null_scores(table: pd.DataFrame) -> pd.Series:
    """The batch-mixing column of the rows that score null simulations.

    Parameters
    ----------
    table
        A control table (:attr:`ControlResult.table`).

    Returns
    -------
    pandas.Series
        One score per null seed.
    """
    return table.loc[[i for i in table.index if i.startswith("null")], "batch mixing"]


@dataclass
class ControlResult:
    """Scores of the control simulations, and the decision rule they calibrate."""

    table: pd.DataFrame   # one row per control embedding
    null_mean: float      # mean batch-mixing score of the null PCA over seeds
    null_sd: float        # its s.d. over seeds
    margin: float         # decision margin below the null mean
    site_effect: float    # injected truth
    donor_effect: float

    @property
    def threshold(self) -> float:
        """Batch-mixing scores below this are called batch-affected."""
        return self.null_mean - self.margin

    def flagged(self, batch_score: float) -> bool:
        """Whether a batch-mixing score is below :attr:`threshold`.

        Parameters
        ----------
        batch_score
            A batch-mixing score.

        Returns
        -------
        bool
        """
        return batch_score < self.threshold

    def row(self, name: str) -> pd.Series:
        """One control's scores.

        Parameters
        ----------
        name
            Row name, e.g. ``"injected: PCA"``.

        Returns
        -------
        pandas.Series
        """
        return self.table.loc[name]

    @property
    def nulls(self) -> pd.Series:
        """Batch-mixing scores of the null simulations, one per seed."""
        return null_scores(self.table)

    def glue(self) -> dict:
        """Numbers and sentences for the batch chapter.

        Returns
        -------
        dict
            Glue key -> formatted value.
        """
        inj = self.row("injected: PCA")["batch mixing"]
        nulls = self.nulls
        nb, cond = self.row("injected: NB"), self.row("injected: NB +batch")
        ok_null = not any(self.flagged(v) for v in nulls)
        ctrl = (f"the injected effect (site {self.site_effect:g}, donor {self.donor_effect:g}) gives a "
                f"batch-mixing score of {inj:.3f}, {'flagged' if self.flagged(inj) else 'NOT flagged'}; "
                f"{'no' if ok_null else 'at least one'} null seed is flagged.")
        gain = cond["batch mixing"] - nb["batch mixing"]
        bio = cond["bio conservation"] - nb["bio conservation"]
        cv = (f"Conditioning the NB model on batch changes its batch-mixing score by {gain:+.3f} "
              f"({nb['batch mixing']:.3f} to {cond['batch mixing']:.3f}) and its biology score by "
              f"{bio:+.3f}" + (", so it reduces the effect while keeping cell-type structure." if gain > 0
                              and bio > -BIO_TOLERANCE else ", so it does not cleanly remove the effect here."))
        sd = max(self.null_sd, 1e-12)
        return {"null_mean": f"{self.null_mean:.3f}", "null_sd": f"{self.null_sd:.3f}",
                "margin": f"{self.margin:.2f}", "margin_in_sd": f"{self.margin / sd:.0f}",
                "injected_drop": f"{self.null_mean - inj:.3f}", "control_verdict": ctrl,
                "cond_verdict": cv, "n_null_seeds": int(len(nulls)),
                "margin_reading": margin_reading(self.margin / sd, self.null_mean - inj, self.margin)}


#: A margin this many null standard deviations wide is one that chance alone rarely crosses.
CHANCE_SDS = 3.0


def margin_reading(margin_sds: float, injected_drop: float, margin: float) -> str:
    """Whether the decision margin sits between chance and the injected effect.

    Parameters
    ----------
    margin_sds
        The margin in null standard deviations.
    injected_drop
        Null mean minus the injected control's batch-mixing score.
    margin
        The margin itself.

    Returns
    -------
    str
        A clause on each side: chance (against :data:`CHANCE_SDS`) and the injected drop.
    """
    chance = ("so chance alone rarely crosses it" if margin_sds >= CHANCE_SDS
              else f"fewer than {CHANCE_SDS:g}, so chance alone could cross it")
    effect = ("smaller than the drop the injected effect causes" if margin < injected_drop
              else "not smaller than the drop the injected effect causes, which it therefore misses")
    return f"{chance}, and it is {effect}"


#: The NB model trained on the injected control: M1's latent size at half its width, enough
#: to separate 45 types in 4,000 cells and quick to train twice.
CONTROL_MODEL = VAEConfig(n_latent=10, n_hidden=128, likelihood="nb")


def run_controls(*, site_effect: float = BOOK_SIM["site_effect"], donor_effect: float = BOOK_SIM["donor_effect"],
                 n_null_seeds: int = 3, margin: float = MARGIN, train_models: bool = True,
                 executor=None, **sim) -> ControlResult:
    """Score null and injected simulations (and NB / NB +batch models on the injected one).

    Parameters
    ----------
    site_effect, donor_effect
        Injected effect strengths.
    n_null_seeds
        Null simulations, one per seed.
    margin
        Decision margin below the null mean.
    train_models
        Also train the NB and NB +batch models on the injected data.
    executor
        Where those two runs train (see :func:`~cellvae.study.runs.run_all`); None decides there.
    **sim
        Overrides of :data:`CONTROL_SIM` and the other :func:`control_data` options
        (``batches``, ``hvgs``), e.g. :func:`matched_controls`.

    Returns
    -------
    ControlResult
    """
    rows = {}
    for s in range(n_null_seeds):
        null = control_data(site_effect=0.0, donor_effect=0.0, seed=s, **sim)
        rows[f"null (seed {s}): PCA"] = _scores(null, PCA_KEY, pca(null))
    inj = control_data(site_effect=site_effect, donor_effect=donor_effect, seed=0, **sim)
    rows["injected: PCA"] = _scores(inj, PCA_KEY, pca(inj))
    if train_models:
        base = RunSpec(arch="control", family="nb/raw", variant="raw", model=CONTROL_MODEL)
        nb, cond = run_all(inj, list(batch_pair(base)), progress=False, executor=executor)
        rows["injected: NB"] = _scores(inj, "X_nb", nb.latent)
        rows["injected: NB +batch"] = _scores(inj, "X_nb_batch", cond.latent)
    table = pd.DataFrame(rows).T[["batch mixing", "iLISI", "kBET", "graph connectivity",
                                  "batch correction", "bio conservation", "total"]]
    nulls = null_scores(table)
    return ControlResult(table, float(nulls.mean()), float(nulls.std(ddof=1)) if len(nulls) > 1 else 0.0,
                         margin, site_effect, donor_effect)
