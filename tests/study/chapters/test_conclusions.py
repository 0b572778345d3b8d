"""Each verdict of the conclusions flips when its input does."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pandas as pd

from cellvae.study.calls import verdicts as vd
from cellvae.study.calls.selection import choose_model
from cellvae.study.chapters import conclusions as cc
from cellvae.study.runner.cache import RunResult
from cellvae.study.runner.grid import family_spec, variant_of


def _choice(best="M4", second="M1", gap=1.3, sd=0.2):
    def runs(arch, centre, sign):
        # the seed-to-seed wobble runs opposite ways for the two: with sd 2 the paired gap changes sign
        return [RunResult(variant_of(family_spec(arch, "nb/raw"), seed=k),
                          {"status": "ok", "select_iwae": centre + sign * d,
                           "select_iwae_cells": [centre + sign * d + e for e in (-1.0, 0.0, 1.0)],
                           "test_iwae": -517.0, "active_units": 10})
                for k, d in enumerate((-sd, 0.0, sd))]
    return choose_model(runs(best, -500.0, 1) + runs(second, -500.0 - gap, -1))


def test_model_sentence_distinguishable_or_the_tie_rule():
    clear = cc.model_sentence(_choice(), 2000)
    assert "the two are distinguishable" in clear and "over 3 seeds" in clear and "paired bootstrap" in clear
    assert "has the best selection likelihood" in clear
    tied = cc.model_sentence(_choice(gap=0.5, sd=2.0), 2000)  # M4 leads, but not beyond the noise
    assert "cannot be told apart" in tied and "M1 (latent 10" in tied  # M1 (hidden 256) < M4 (512)
    assert "is chosen by the tie rule, tied with M4" in tied
    kept = cc.model_sentence(_choice(best="M2", second="M5", gap=0.5, sd=2.0), 2000)
    assert "M2 is also the smaller, so the tie rule keeps it" in kept


def _table(orig_kl=(0.01, 0.02), orig_au=(0, 0), orig_recon=(2000.0, 2001.0), nb_status=("ok", "ok")):
    return pd.DataFrame({
        "family": ["original"] * 2 + ["nb/raw"] * 2 + ["gaussian/preprocessed", "gaussian/processed"],
        "model": ["M1", "M2", "M1", "M2", "M1", "M1"],
        "test recon": [*orig_recon, 700.0, 690.0, 1.0, 1.0], "test KL": [*orig_kl, 13.0, 14.0, 5.0, 5.0],
        "active units": [*orig_au, 10, 48, 10, 10], "test IWAE": [-1.0, -1.0, -700.0, -690.0, -9e4, -1600.0],
        "status": ["ok", "ok", *nb_status, "ok", "ok"]})


def test_collapse_sentence_flips_with_collapse_and_spread():
    assert "that is why every model looked the same" in cc.collapse_sentence(_table(), 2000)
    partly = cc.collapse_sentence(_table(orig_kl=(0.01, 20.0), orig_au=(0, 30)), 2000)
    assert "1 of 2 architectures collapse" in partly and "only the KL and the active units tell them" in partly
    assert "KL at most 0.01 nats, no active units" in partly  # the collapsed run's, not the other's
    apart = cc.collapse_sentence(_table(orig_kl=(0.01, 20.0), orig_au=(0, 30), orig_recon=(2000.0, 2400.0)), 2000)
    assert "1 of 2 architectures collapse" in apart and "not every model looks the same" in apart
    none = cc.collapse_sentence(_table(orig_kl=(9.0, 20.0), orig_au=(8, 30)), 2000)
    assert "0 of 2 architectures collapse," in none and "at most" not in none
    spread = cc.collapse_sentence(_table(orig_recon=(2000.0, 2400.0)), 2000)
    assert "2 of 2" in spread and "not every model looks the same" in spread
    assert "none of the same architectures collapses" in spread


def test_likelihood_sentence_counts_divergence():
    assert "every NB run trained without diverging" in cc.likelihood_sentence(_table(), "M1")
    assert "1 of 2 NB runs diverged" in cc.likelihood_sentence(_table(nb_status=("ok", "nan loss")), "M1")


def _ev(pca=0.6, rnd=vd.NO_STRUCTURE, call=vd.BELOW, donor_hits=5):
    v = pd.DataFrame({"Batch mixing": [pca, 0.9, 0.95], "mixing low": [pca - 0.01, 0.89, 0.94],
                      "mixing high": [pca + 0.01, 0.91, 0.96], "mixing threshold": [0.7, 0.7, 0.7],
                      "mixing call": [call, vd.ABOVE, vd.ABOVE], "K": [5, 5, 5],
                      "verdict": ["x", vd.WELL, rnd]}, index=["PCA", "our NB", "random embedding"])
    power = pd.DataFrame({"effect": ["site", "donor"], "kind": ["PCA", "PCA"], "strength": [0.4, 0.2], "n": [5, 5],
                          "detected": [5, donor_hits], "power": [1.0, donor_hits / 5], "low": [0.5, 0.0],
                          "high": [1.0, 1.0]})
    return SimpleNamespace(verdicts=v, power=power,
                           limit_text=lambda kind: "detection limit at 80% power: site effect 0.1, donor effect 0.2")


def test_conclusion_batch_sentence_flips():
    s = cc.batch_sentence(_ev(), {"site_effect": 0.4, "donor_effect": 0.2})
    assert "Batch effects are detected" in s and "checks the method; it is not a finding about cells" in s
    assert "random one is called *no structure*" in s and "False negatives" not in s
    assert "Batch effects are not detected" in cc.batch_sentence(_ev(pca=0.8, call=vd.ABOVE), None)
    assert "Batch effects are inconclusive" in cc.batch_sentence(_ev(pca=0.7, call=vd.INCONCLUSIVE), None)
    assert "cannot be trusted" in cc.batch_sentence(_ev(rnd=vd.WELL), None)
    pooled = cc.batch_sentence(_ev(pca=0.8, call=vd.ABOVE), None, pooled=True)
    assert pooled.startswith("**Donor differences (donors pooled in one lane: biology) are not detected.**")
    assert "our NB *donors mixed*" in pooled and "well integrated" not in pooled
    refused = _ev(call=vd.REFUSED)
    refused.verdicts["perfect mixing"] = 0.65  # below every 0.7 threshold: no embedding could pass
    s = cc.batch_sentence(refused, None)
    assert "Batch effects are not judged" in s and "lies above the perfect-mixing control's score (0.650)" in s
    assert "cannot be measured" in cc.batch_sentence(_ev(pca=np.nan), None)
    missed = cc.batch_sentence(_ev(donor_hits=1), None)
    assert "**False negatives:** PCA misses a donor effect of 0.2, the simulator's own, in 4 of 5 simulations" in missed


def test_two_parts_put_the_main_findings_where_their_truth_is():
    ev = _ev()
    ev.fpr = pd.DataFrame({"n": [5], "flagged": [0]}, index=pd.MultiIndex.from_tuples([("all batches", "PCA")]))
    known, cells = cc.two_parts(["model", "batch"], ev, ["starter"], simulated=True)
    assert known[:2] == ["model", "batch"] and known[-1].startswith("**Power and false positives.**")
    assert "PCA on all batches: 0 of 5" in known[-1] and cells == ["starter"]
    known, cells = cc.two_parts(["model", "batch"], ev, ["starter"], simulated=False)  # a real file
    assert len(known) == 1 and cells == ["model", "batch", "starter"]


def test_a_number_on_two_pages_comes_from_one_value():
    """The conclusions quote the batch page's PCA call and the results page's test IWAE, not their own copies."""
    from cellvae.study.chapters.batch_text import data_sentence

    ev = _ev()
    assert data_sentence(ev, truth=None) in cc.batch_sentence(ev, None)
    choice = _choice()
    g = choice.glue()  # what the results page glues
    assert f"{g['best_iwae']} ± {g['best_sd']} nats per cell" in cc.model_sentence(choice, 2000)
