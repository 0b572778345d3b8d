"""The batch chapter's sentences, from its :class:`~cellvae.study.chapters.batch_effects.Evidence`.

Every verdict word here comes from a test over replicates (:mod:`cellvae.study.calls.verdicts`)
or a power estimate over simulations (:mod:`cellvae.study.calls.power`), and says which.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..calls.calibration import FPR, NULL_SEEDS, OWN_STRENGTHS, POWER_SEEDS
from ..calls.donor_structure import (
    N_TYPES,
    composition_intervals,
    expression_drivers,
    removal_sentence,
    structure_sentence,
)
from ..calls.power import POWER, power_at, power_clause
from ..calls.verdicts import (
    ABOVE,
    BELOW,
    POOLED_WORDS,
    REFUSED,
    interval_text,
    position,
    refusal_text,
    scope_sentence,
)
from ..runner.grid import BATCH_SEEDS
from ..scoring.integration import MIXING
from ..scoring.isolated import KBET_MIN_CELLS, MIN_GROUP, isolated_label_sizes
from ..scoring.mixing import N_SHUFFLES
from .batch_effects import Evidence, mixing_of

#: Where the simulator's own strengths come from (data/calibration.py): the starter has one site.
_ORIGIN = {"site": " (assumed: the real starter has one site, so no data fits it)",
           "donor": " (fitted to the starter's two donors)"}
#: How each kind is named in a sentence.
_KIND_NAMES = {"PCA": "PCA", "NB VAE": "our NB VAE"}


def data_sentence(ev: Evidence, *, truth: dict | None, pooled: bool = False) -> str:
    """The unintegrated PCA's call on this data, its test, and what a call on a simulation means.

    Parameters
    ----------
    ev
        :func:`~cellvae.study.chapters.batch_effects.batch_evidence` output.
    truth
        The simulation's parameters (``adata.uns['simulation']``), or None for real data.
    pooled
        Whether the batches are donors pooled in one lane: what is detected is then a donor
        difference (biology), not a batch effect.

    Returns
    -------
    str
    """
    pca = ev.verdicts.loc["PCA"]
    if pca["mixing call"] == REFUSED:
        return f"The unintegrated PCA's batch effect is **not judged**: {refusal_text(pca)}."
    what = "donor difference" if pooled else "batch effect"
    call = {BELOW: f"**a {what} is detected**", ABOVE: f"no {what} is detected, and the mixing is shown "
            "at or above the null bound"}.get(pca["mixing call"], "the call is **inconclusive**: the interval "
                                                                  "holds the threshold")
    text = (f"Over {pca['K']:.0f} random subsamples of the test cells, the unintegrated PCA's batch mixing is "
            f"{pca[MIXING]:.3f} (one-sided {1 - FPR:.0%} bounds {pca['mixing low']:.3f}-{pca['mixing high']:.3f}) "
            f"against its null threshold of {pca['mixing threshold']:.3f}: {call} (one-sided t-test, error rate "
            f"{FPR:.0%}).")
    if truth:
        site, donor = truth.get("site_effect", 0), truth.get("donor_effect", 0)
        text += (f" This data is simulated with a site effect of {site:g}{_ORIGIN['site'] if site == OWN_STRENGTHS['site'] else ''}"
                 f" and a donor effect of {donor:g}{_ORIGIN['donor'] if donor == OWN_STRENGTHS['donor'] else ''}, so "
                 "detecting them checks the method; it is not a finding about cells.")
    return text


def _own_power(ev: Evidence):
    """(effect, strength, kind, name, power row or None) at each of the simulator's own strengths."""
    for effect, strength in OWN_STRENGTHS.items():
        for kind, name in _KIND_NAMES.items():
            yield effect, strength, kind, name, power_at(ev.power, effect=effect, kind=kind, strength=strength)


def power_sentence(ev: Evidence) -> str:
    """Power at the simulator's own site and donor strengths, for PCA and the VAE, and the measured false-positive rate.

    Parameters
    ----------
    ev
        :func:`~cellvae.study.chapters.batch_effects.batch_evidence` output.

    Returns
    -------
    str
    """
    parts = [power_clause(row, what=f"{name} detects a {effect} effect of {strength:g}"
                                    f"{_ORIGIN[effect] if kind == 'PCA' else ''}")
             for effect, strength, kind, name, row in _own_power(ev) if row is not None]  # none: not simulated
    fp = ev.fpr
    rates = "; ".join(f"{_KIND_NAMES.get(k, k)} on {sc}: {r['flagged']:.0f} of {r['n']:.0f}"
                      for (sc, k), r in fp.iterrows() if k in _KIND_NAMES) if len(fp) else "not measurable"
    own = f"At the simulator's own strengths: {'; '.join(parts)}." if parts else (
        "No power was simulated at the simulator's own strengths here.")
    return (f"{own} The measured false-positive rate, each null simulation judged against the threshold of the "
            f"others (nominal {FPR:.0%}), is {rates}.")


def false_negatives(ev: Evidence) -> list[str]:
    """The simulator's own effects that a kind detects with less than :data:`POWER` power, in plain words.

    Parameters
    ----------
    ev
        :func:`~cellvae.study.chapters.batch_effects.batch_evidence` output.

    Returns
    -------
    list of str
        One clause per (effect, kind) below the power target; empty when every one reaches it.
    """
    return [f"{name} misses a {effect} effect of {strength:g}, the simulator's own, in "
            f"{row['n'] - row['detected']:.0f} of {row['n']:.0f} simulations"
            for effect, strength, _, name, row in _own_power(ev) if row is not None and row["power"] < POWER]


def row_verdicts(v: pd.DataFrame, missing: dict[str, str], *, pooled: bool = False) -> str:
    """Each embedding's joint verdict with its two intervals, and why any row is missing.

    Parameters
    ----------
    v
        The verdict table (:func:`~cellvae.study.calls.verdicts.verdict_table`).
    missing
        Row -> why it was not scored.
    pooled
        Read the verdicts as donor structure (:data:`~cellvae.study.calls.verdicts.POOLED_WORDS`).

    Returns
    -------
    str
    """
    words = POOLED_WORDS if pooled else {}
    rows = "; ".join(f"{n}: **{words.get(r['verdict'], r['verdict'])}** (mixing {interval_text(r, 'mixing')}, "
                     f"bio {interval_text(r, 'bio')})" for n, r in v.iterrows())
    return rows + "".join(f"; {n}: {why}" for n, why in missing.items())


def glue(ev: Evidence, *, truth: dict | None, pooled: bool = False) -> dict:
    """Numbers and generated sentences for the batch chapter and the conclusions.

    Parameters
    ----------
    ev
        :func:`~cellvae.study.chapters.batch_effects.batch_evidence` output.
    truth
        The simulation's parameters, or None for real data.
    pooled
        Whether the batches are donors pooled in the same lanes: the row verdicts then read as
        donor structure kept or removed (:data:`~cellvae.study.calls.verdicts.POOLED_WORDS`).

    Returns
    -------
    dict
        Glue key -> str.
    """
    rows = row_verdicts(ev.verdicts, ev.missing, pooled=pooled)
    sc = {r["embedding"]: r for _, r in ev.scoped.iterrows() if r["scope"] == "site within donor"}
    dc = {r["embedding"]: r for _, r in ev.scoped.iterrows() if r["scope"] == "donor within site"}
    lab = ev.labels
    site = ("" if "our NB" not in sc else scope_sentence(
        sc["our NB"], what="site effect", where=lab["site within donor"].replace("site ", "", 1),
        cond=sc.get("our NB +batch")))
    donor = ("" if "our NB" not in dc else scope_sentence(
        dc["our NB"], what="donor effect", where=lab["donor within site"].replace("donor ", "", 1),
        cond=dc.get("our NB +batch")))
    simulated = set(ev.dose["effect"]) if len(ev.dose) else set()
    at = {e: position(mixing_of(ev, sc, "PCA"), ev.dose, effect=e, kind="PCA")
          for e, sc in (("site", "site within donor"), ("donor", "donor within site")) if e in simulated}
    at = {e: "cannot be placed (not measured here)" if p == "not measured" else f"sits {p}" for e, p in at.items()}
    pos = ("On the PCA curves (the mean over each strength's simulations) this data's "
           + ", and its ".join(f"{e} effect {p}" for e, p in at.items()) + "." if at else "")
    t = ev.timing["wall time (s)"]
    speed = ("scvi-tools is not installed here, so its speed is not compared." if not np.isfinite(t.iloc[0]) else
             f"SCVI trained for {t.iloc[0]:.0f} s ({ev.timing['epochs'].iloc[0]:.0f} epochs) against {t.iloc[1]:.0f} s "
             f"({ev.timing['epochs'].iloc[1]:.0f} epochs) for our NB and {t.iloc[2]:.0f} s for our NB +batch, "
             "each on one torch thread.")
    return {"fpr": f"{100 * FPR:g}%", "n_null_seeds": str(len(NULL_SEEDS)), "n_shuffles": str(N_SHUFFLES),
            "n_replicates": str(len(BATCH_SEEDS)), "n_power": str(len(POWER_SEEDS)), "power_target": f"{POWER:.0%}",
            "own_strengths": f"site {OWN_STRENGTHS['site']:g} and donor {OWN_STRENGTHS['donor']:g}",
            "data_verdict": data_sentence(ev, truth=truth, pooled=pooled), "row_verdicts": rows,
            "random_verdict": ev.verdict_of("random embedding"), "limit_pca": ev.limit_text("PCA"),
            "limit_vae": ev.limit_text("NB VAE"), "power_sentence": power_sentence(ev),
            "site_sentence": site, "donor_sentence": donor, "curve_position": pos, "speed": speed,
            **_simulated_effects(simulated)}


def _simulated_effects(simulated: set) -> dict[str, str]:
    """The dose-response section's words for the effects simulated here (no site effect without sites)."""
    if "site" in simulated or not simulated:
        return {"effects_simulated": "a site effect alone, or a donor effect alone",
                "dose_panels": "a site effect (left, scored within one donor across sites) and a donor effect "
                               "(right, within one site across donors)"}
    return {"effects_simulated": "a donor effect alone (this file records no site, so no site effect is simulated)",
            "dose_panels": "a donor effect (scored across the simulated donors)"}


#: What a batch is (``uns['design']['batch_is']``) where the batch page measures donor structure.
DONOR_KINDS = ("donor", "pooled donors")


def donor_structure(adata, ev: Evidence) -> tuple[str, pd.DataFrame | None]:
    """The batch page's donor-structure paragraph and its composition table, where batches are donors.

    Parameters
    ----------
    adata
        The book data (``uns['design']`` for a real file, ``uns['simulation']`` for the simulator).
    ev
        :func:`~cellvae.study.chapters.batch_effects.batch_evidence` output.

    Returns
    -------
    tuple
        The paragraph, and the composition of the cell types whose share differs most across
        donors (None where batches are not donors).
    """
    kind = adata.uns.get("design", {}).get("batch_is")
    if "simulation" in adata.uns:
        return ("The simulated batches carry the donor effects the simulator was told to contain, so finding "
                "them checks the method; donor structure in real cells is measured in the real-cells chapter.", None)
    if kind not in DONOR_KINDS:
        return (f"The batches of this file are read as {kind or 'batches'}, not donors, so donor structure is not "
                "separated from the batch effect here.", None)
    comp = composition_intervals(adata.obs)
    text = structure_sentence(comp, expression_drivers(adata), pooled=kind == "pooled donors")
    text += (f" The table above gives the {N_TYPES} cell types whose share differs most, per donor, with 95% "
             "Clopper-Pearson intervals. " + removal_sentence(ev.verdicts, mixing=MIXING))
    top = list(dict.fromkeys(comp["cell type"]))[:N_TYPES]
    return text.strip(), comp[comp["cell type"].isin(top)].drop(columns="spread")


#: Small groups named on the page; the rest are counted.
N_NAMED = 5


def small_groups(obs, *, min_cells: int = MIN_GROUP) -> str:
    """A warning naming the cell types and batches with fewer scored cells than ``min_cells``.

    Parameters
    ----------
    obs
        The scored cells' metadata (``cell_type``, ``batch``).
    min_cells
        Cells a group needs (:data:`~cellvae.study.scoring.isolated.MIN_GROUP`).

    Returns
    -------
    str
        Empty when every group is large enough.
    """
    parts = []
    for one, many, col in (("cell type", "cell types", "cell_type"), ("batch", "batches", "batch")):
        n = obs[col].astype(str).value_counts()
        small = n[n < min_cells].sort_values(kind="stable")
        if len(small):
            named = ", ".join(f"{k} ({v})" for k, v in small.head(N_NAMED).items())
            more = f" and {len(small) - N_NAMED} more" if len(small) > N_NAMED else ""
            parts.append(f"{len(small)} {one if len(small) == 1 else many} of {len(n)}: {named}{more}")
    if not parts:
        return ""
    iso = isolated_label_sizes(obs["cell_type"].to_numpy(), obs["batch"].to_numpy())
    which = (f"the one cell type found in the fewest batches, {iso.index[0]}, holds" if len(iso) == 1 else
             f"an average over the {len(iso):,} cell types found in the fewest batches, each weighing alike; the "
             "smallest of them holds")
    left = (f"The isolated-label score rests on {which} {_count(int(iso.iloc[0]), 'cell')}, so it is left out of "
            "Table 4b and of the bio aggregate that Table 5 reads." if iso.iloc[0] < MIN_GROUP else
            "The isolated-label score is kept: each of its cell types holds enough cells.")
    return (f"**Small groups.** Fewer than {min_cells} scored cells: {'; '.join(parts)}. Per-label kBET skips a cell "
            f"type of fewer than {KBET_MIN_CELLS} cells (scib-metrics' own minimum) and rests on few cells above it. "
            f"{left}")


def _count(n: int, noun: str) -> str:
    return f"{n:,} {noun}" if n == 1 else f"{n:,} {noun}s"
