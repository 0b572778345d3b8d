"""Calibrated thresholds: prediction bounds that move with the null, and the null's size text."""

import numpy as np
import pandas as pd
import pytest

from cellvae.study.calls import calibration as cal
from cellvae.study.calls import verdicts as vd
from cellvae.study.scoring import integration as integ
from cellvae.study.scoring.integration import BIO, MIXING


def test_threshold_is_a_prediction_bound_that_moves_with_the_null():
    null = np.array([0.80, 0.81, 0.79, 0.80, 0.80])
    t = cal.threshold(null)
    assert t < null.min() < null.mean()
    assert cal.threshold(null * 0 + 0.8 + (null - 0.8) * 3) < t         # wider spread, lower bound
    assert cal.threshold(null, fpr=0.2) > t                             # a laxer rate sits closer
    assert cal.threshold(np.r_[null, null]) > t                         # more seeds, tighter t quantile
    with pytest.raises(ValueError, match="at least two"):
        cal.threshold([0.8, np.nan])
    from cellvae.study.calls.controls import prediction_bounds

    lo, hi = prediction_bounds(null)
    assert lo == t and hi - null.mean() == pytest.approx(null.mean() - lo)  # symmetric about the mean


@pytest.mark.slow
def test_null_threshold_changes_with_size_and_random_is_never_well_integrated(tmp_path, monkeypatch):
    from cellvae.study.calls.controls import control_data
    from cellvae.study.scoring.embed import pca

    monkeypatch.setenv("CELLVAE_CACHE", str(tmp_path))
    thr, last = {}, None
    for n in (700, 2400):
        mix, bio = [], []
        for seed in range(3):
            sim = control_data(site_effect=0.0, donor_effect=0.0, seed=seed, n_cells=n, n_genes=800, hvgs=400)
            pca(sim, n_comps=20)
            test = (sim.obs["split"] == "test").to_numpy()
            t = integ.benchmark(sim, {"PCA": "X_pca"}, mask=test, full=False)
            mix.append(t.loc["PCA", MIXING])
            bio.append(t.loc["PCA", BIO])
        thr[n] = (cal.threshold(mix), cal.threshold(bio))
        last = sim, test
    assert thr[700] != thr[2400]
    sim, test = last
    reps = []
    for k in range(3):
        sim.obsm[f"X_random{k}"] = integ.random_embedding(sim.n_obs, 20, seed=k)
        reps.append(integ.benchmark(sim, {"random": f"X_random{k}"}, mask=test, full=False).iloc[0])
    t = integ.benchmark(sim, {"random": "X_random0", "PCA": "X_pca"}, mask=test, full=False)
    tm, tb = thr[2400]
    mixes, bios = [r[MIXING] for r in reps], [r[BIO] for r in reps]
    # a structure-free embedding is never well integrated, and never batch-affected either
    assert vd.judge(mixes, bios, mix_threshold=tm, bio_threshold=tb) != vd.WELL
    assert vd.side(mixes, tm) != vd.BELOW and all(abs(m - 1) < 0.1 for m in mixes)
    assert t.loc["random", BIO] < tb <= t.loc["PCA", BIO] + 0.05
    # a corrupt cached score is detected and recomputed
    files = list((tmp_path / "benchmark").glob("*.npz"))
    assert files
    for f in files:
        f.write_bytes(b"not an npz")
    again = integ.benchmark(sim, {"random": "X_random0", "PCA": "X_pca"}, mask=test, full=False)
    assert np.allclose(again[MIXING], t[MIXING])


def test_null_size_text_follows_the_data(monkeypatch):
    import anndata as ad

    sim = ad.AnnData(np.zeros((30, 4)), uns={"simulation": {"n_genes": 40}})
    assert cal.size_text(sim) == "30 cells, 40 simulated genes, 4 HVGs"
    real = ad.AnnData(np.zeros((30, 4)), obs=pd.DataFrame({"batch": ["s1d1", "s1d2"] * 15},
                                                          index=[f"c{i}" for i in range(30)]))
    assert cal.size_text(real) == "30 cells in the batches s1d1, s1d2, 8 simulated genes, 4 HVGs"
    monkeypatch.setattr("cellvae.study.calls.controls.CONTROL_MAX_CELLS", 20)  # the cap that matched_cells applies
    assert cal.size_text(real).startswith("20 cells (at most 20) in the batches")
    # a simulated file larger than the cap: its nulls simulate the cap, and the sentence says so
    assert cal.like(sim)["n_cells"] == 20
    assert cal.size_text(sim) == "20 cells (capped below the data's 30), 40 simulated genes, 4 HVGs"


def test_only_the_nulls_are_scored_for_bio_conservation():
    rows = cal._settings({"n_cells": 30}, False)
    null = [r for r in rows if r["site"] == 0 and r["donor"] == 0]
    assert len(null) == len(cal.NULL_SEEDS) and all(r["bio"] for r in null)
    dose = [r for r in rows if r not in null]
    assert len(dose) == 2 * (len(cal.DOSES) - 1) * len(cal.POWER_SEEDS) and not any(r["bio"] for r in dose)
    assert sum(r["train"] for r in dose) == 2 * len(cal.POWER_SEEDS)  # the VAE at the simulator's own strengths
