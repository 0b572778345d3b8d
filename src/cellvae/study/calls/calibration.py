"""Calibrated nulls for the batch verdict, a dose-response curve, and site apart from donor.

The null is simulated at the data's own size (cells, genes, HVGs, batches) with no site or
donor effect, :data:`NULL_SEEDS` times, and each embedding kind is scored on it as it is
scored on the data: PCA for PCA, Harmony for Harmony, and the chosen NB VAE *trained on the
null data* for the VAEs.  Every score is on held-out test cells.  A threshold is the
one-sided prediction bound of the null at :data:`FPR`: a new draw from the null falls below
it with that probability (:func:`threshold`), so it widens with the null's spread, which
shrinks as the data grow.

Three scopes are scored: all site x donor batches; the site effect within one donor (donor 1
was sampled at all four sites); the donor effect within one site.  The dose-response
simulations inject a site effect alone, or a donor effect alone, at :data:`DOSES`, each
:data:`POWER_SEEDS` times, and are scored on the scope that isolates it: the power curves of
:mod:`cellvae.study.calls.power`.  PCA is scored at every strength; the VAE, which must be
trained on each simulation, at the simulator's own strengths (:data:`OWN_STRENGTHS`).  A
dose-response simulation is scored for batch mixing alone
(:func:`~cellvae.study.scoring.integration.batch_mixing`), all its power reads; only the nulls,
whose thresholds judge bio conservation too, run the Benchmarker.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import anndata as ad
import numpy as np
import pandas as pd

from ...data import fingerprint
from ..runner import store
from ..runner.bookdata import BOOK_SIM
from ..runner.grid import RunSpec
from ..runner.runs import run_all
from ..scoring.baselines import harmony
from ..scoring.embed import PCA_KEY, pca
from ..scoring.integration import BIO, MIXING, SCORES_VERSION, batch_mixing, benchmark
from ..scoring.isolated import drops_isolated
from .controls import (
    EFFECT_SCOPES,
    FPR,
    control_data,
    matched_cells,
    matched_controls,
    prediction_bounds,
    scopes,
)

#: Null simulations per embedding kind (the issue's minimum; each costs one VAE training).
NULL_SEEDS = (0, 1, 2, 3, 4)
#: True effect strengths of the dose-response curve (0 is the null).
DOSES = (0.0, 0.05, 0.1, 0.2, 0.4)
#: Simulations per effect and strength: a power estimate is the share of them detected.
POWER_SEEDS = (0, 1, 2, 3, 4)
#: The simulator's own strengths (the book's simulation): where the VAE's power is also measured.
OWN_STRENGTHS = {"site": BOOK_SIM["site_effect"], "donor": BOOK_SIM["donor_effect"]}
_VERSION = 3  # 2: power seeds, the VAE at the simulator's own strengths; 3: dose rows score mixing alone


def threshold(null: np.ndarray, *, fpr: float = FPR) -> float:
    """One-sided lower prediction bound of a null (:func:`~cellvae.study.calls.controls.prediction_bounds`).

    Parameters
    ----------
    null
        Null scores, one per seed (at least two).
    fpr
        Chance that a new null draw falls below the bound.

    Returns
    -------
    float

    Raises
    ------
    ValueError
        With fewer than two finite null scores.
    """
    return prediction_bounds(null, fpr=fpr)[0]


def like(adata: ad.AnnData) -> dict:
    """Simulation settings at the data's own size (:func:`~cellvae.study.calls.controls.control_data`).

    Parameters
    ----------
    adata
        The book data.

    Returns
    -------
    dict
        ``n_cells`` (at most :data:`~cellvae.study.calls.controls.CONTROL_MAX_CELLS`), ``n_genes``,
        ``hvgs`` (and ``batches`` for a real file).
    """
    matched = matched_controls(adata)
    if matched:
        return matched
    truth = adata.uns.get("simulation", {})  # a simulated file: its own size, at most CONTROL_MAX_CELLS
    return {"n_cells": matched_cells(adata), "n_genes": int(truth.get("n_genes", BOOK_SIM["n_genes"])),
            "hvgs": adata.n_vars}


def size_text(adata: ad.AnnData) -> str:
    """What the nulls are matched to, for a sentence: cells, genes, HVGs and, on a real file, batches.

    Parameters
    ----------
    adata
        The book data.

    Returns
    -------
    str
        E.g. ``"3,000 cells, 5,000 simulated genes, 1,000 HVGs"``; on a real file, about as
        many cells as it holds in the batches it is matched to.
    """
    size = like(adata)
    genes = f"{size['n_genes']:,} simulated genes, {size['hvgs']:,} HVGs"
    if "batches" not in size:
        cap = f" (capped below the data's {adata.n_obs:,})" if size["n_cells"] < adata.n_obs else ""
        return f"{size['n_cells']:,} cells{cap}, {genes}"
    # a real file: the simulation is larger, and the cells of the named batches are kept
    cells = matched_cells(adata)
    cap = f" (at most {cells:,})" if cells < adata.n_obs else ""  # the cap, when it binds
    return f"{cells:,} cells{cap} in the batches {', '.join(size['batches'])}, {genes}"


def _embed(sim: ad.AnnData, latent: np.ndarray | None, *, with_harmony: bool) -> dict[str, str]:
    pca(sim)
    keys = {"PCA": PCA_KEY}
    h = harmony(sim) if with_harmony else None  # Harmony is judged on all batches only
    if h is not None:
        sim.obsm["X_harmony"], keys["Harmony"] = h, "X_harmony"
    if latent is not None:
        sim.obsm["X_vae"], keys["NB VAE"] = latent, "X_vae"
    return keys


def _score(sim: ad.AnnData, keys: dict[str, str], which: tuple[str, ...], drop_isolated: bool,
           bio: bool = True) -> dict:
    """{scope: {kind: {MIXING, BIO}}} on the test cells of ``sim``, its isolated labels as the data's.

    Without ``bio``, {MIXING} alone: a dose-response simulation's power reads nothing else.
    """
    test = (sim.obs["split"] == "test").to_numpy()
    out = {}
    for name, (mask, key) in scopes(sim).items():
        if name not in which or sim.obs.loc[mask & test, key].nunique() < 2:
            continue
        # Harmony is judged on all batches only: the scope table compares PCA and the VAEs
        use = {k: v for k, v in keys.items() if name == "all batches" or k != "Harmony"}
        if not bio:
            t = batch_mixing(sim, use, batch_key=key, mask=mask & test)
            out[name] = {k: {MIXING: float(t.loc[k, MIXING])} for k in use}
            continue
        t = benchmark(sim, use, batch_key=key, mask=mask & test, full=False, drop_isolated=drop_isolated)
        out[name] = {k: {MIXING: float(t.loc[k, MIXING]), BIO: float(t.loc[k, BIO])} for k in use}
    return out


def _sim(setting: dict) -> ad.AnnData:
    return control_data(site_effect=setting["site"], donor_effect=setting["donor"], seed=setting["seed"],
                        **setting["size"])


def _score_setting(setting: dict, spec: RunSpec) -> dict:
    """Make one simulation, embed it (its VAE run comes from the cache) and score it: a pool task."""
    sim = _sim(setting)
    latent = run_all(sim, [spec], progress=False, jobs=1)[0].latent if setting["train"] else None
    return _score(sim, _embed(sim, latent, with_harmony="all batches" in setting["scope"]), setting["scope"],
                  setting["drop_isolated"], bio=setting["bio"])


def _one(setting: dict, spec: RunSpec, executor) -> dict:
    """Train this setting's VAE in the pool, then score it there too (whole cores, no shared GIL)."""
    if setting["train"]:
        run_all(_sim(setting), [spec], progress=False, executor=executor, jobs=1)
    if executor is None:
        return _score_setting(setting, spec)
    return executor.submit(_score_setting, setting, spec).result()


def _settings(size: dict, drop_isolated: bool) -> list[dict]:
    null = [dict(site=0.0, donor=0.0, seed=s, train=True, bio=True, scope=("all batches", "site within donor",
                                                                            "donor within site")) for s in NULL_SEEDS]
    dose = [dict(site=d if effect == "site" else 0.0, donor=d if effect == "donor" else 0.0, seed=s,
                 train=d == OWN_STRENGTHS[effect], bio=False, scope=(scope,))
            for effect, scope in EFFECT_SCOPES for d in DOSES[1:] for s in POWER_SEEDS]
    return [s | {"size": size, "drop_isolated": drop_isolated} for s in null + dose]


def calibrate(adata: ad.AnnData, spec: RunSpec, *, executor=None) -> dict:
    """Null and dose-response scores for ``adata``'s size, trained and scored, cached on disk.

    Parameters
    ----------
    adata
        The book data (sets the simulations' size).
    spec
        The chosen NB run, trained on every null seed and at :data:`OWN_STRENGTHS`.
    executor
        Where the VAE runs train and the simulations are scored (see
        :func:`~cellvae.study.runner.runs.run_all`); None does everything here, one at a time.

    Returns
    -------
    dict
        ``size`` and ``rows``: one per simulation with ``site``, ``donor``, ``seed`` and
        ``scores`` ({scope: {kind: {MIXING, BIO}}}).
    """
    size, drop = like(adata), drops_isolated(adata)  # the nulls average the metrics the data's scores do
    entry = store.key({"v": _VERSION, "scores": SCORES_VERSION, "size": size, "spec": spec.key(fingerprint(adata)),
                       "seeds": NULL_SEEDS, "drop isolated": drop,
                       "doses": DOSES, "power seeds": POWER_SEEDS, "own": OWN_STRENGTHS, "fpr": FPR})

    def compute() -> dict:
        settings = _settings(size, drop)
        # one thread per simulation only queues its work on the executor; serially, one at a time
        with ThreadPoolExecutor(len(settings) if executor is not None else 1) as pool:
            scores = list(pool.map(lambda s: _one(s, spec, executor), settings))
        rows = [{k: s[k] for k in ("site", "donor", "seed")} | {"scores": sc} for s, sc in zip(settings, scores)]
        return {"size": {k: (list(v) if isinstance(v, tuple) else v) for k, v in size.items()}, "rows": rows}

    return store.cached("calibration", entry, compute, codec=store.JSON)


def null_table(cal: dict) -> pd.DataFrame:
    """Null scores in long form: one row per seed x scope x kind x statistic.

    Parameters
    ----------
    cal
        :func:`calibrate` output.

    Returns
    -------
    pandas.DataFrame
        Columns ``seed``, ``scope``, ``kind``, ``stat``, ``value``.
    """
    recs = [{"seed": r["seed"], "scope": sc, "kind": k, "stat": st, "value": v}
            for r in cal["rows"] if r["site"] == 0 and r["donor"] == 0
            for sc, kinds in r["scores"].items() for k, stats in kinds.items() for st, v in stats.items()]
    return pd.DataFrame(recs, columns=["seed", "scope", "kind", "stat", "value"])


def thresholds(cal: dict, *, fpr: float = FPR) -> pd.DataFrame:
    """Null mean, s.d. and threshold per scope, kind and statistic.

    Parameters
    ----------
    cal
        :func:`calibrate` output.
    fpr
        False-positive rate of the thresholds.

    Returns
    -------
    pandas.DataFrame
        Indexed by (scope, kind, stat): ``mean``, ``sd``, ``n``, ``threshold``.
    """
    nt = null_table(cal)
    g = nt.groupby(["scope", "kind", "stat"])["value"]
    out = g.agg(["mean", "std", "count"]).rename(columns={"std": "sd", "count": "n"})
    out["threshold"] = g.apply(lambda v: threshold(v.to_numpy(), fpr=fpr))
    return out


def dose_table(cal: dict) -> pd.DataFrame:
    """Batch mixing against the true strength, on the scope that isolates each effect, every simulation.

    Parameters
    ----------
    cal
        :func:`calibrate` output.

    Returns
    -------
    pandas.DataFrame
        Columns ``effect`` (site or donor), ``strength``, ``seed``, ``kind``, ``mixing``;
        strength 0 rows are the null simulations.
    """
    recs = []
    for effect, scope in EFFECT_SCOPES:
        other = "donor" if effect == "site" else "site"
        for r in cal["rows"]:
            if r[other] != 0 or scope not in r["scores"]:
                continue
            for k, st in r["scores"][scope].items():
                recs.append({"effect": effect, "strength": r[effect], "seed": r["seed"], "kind": k,
                             "mixing": st[MIXING]})
    return pd.DataFrame(recs, columns=["effect", "strength", "seed", "kind", "mixing"])
