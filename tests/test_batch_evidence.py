"""The batch chapter's evidence: calibrated thresholds, the joint verdict, detection limits."""

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from cellvae.study.calls import calibration as cal
from cellvae.study.calls import verdicts as vd
from cellvae.study.chapters import conclusions as cc
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


def test_joint_verdict_flips_each_way():
    kw = dict(mix_threshold=0.7, bio_threshold=0.5)
    assert vd.judge(0.8, 0.6, **kw) == vd.WELL
    assert vd.judge(0.6, 0.6, **kw) == vd.AFFECTED
    assert vd.judge(0.8, 0.4, **kw) == vd.NO_STRUCTURE
    assert vd.judge(0.6, 0.4, **kw) == vd.BOTH
    assert vd.judge(np.nan, 0.6, **kw) == "not measured"


def _thr(mix=0.7, bio=0.5):
    idx = pd.MultiIndex.from_tuples([(sc, k, s) for sc in ("all batches", "site within donor", "donor within site")
                                     for k in ("PCA", "NB VAE") for s in (MIXING, BIO)])
    return pd.DataFrame({"mean": 0.8, "sd": 0.02, "n": 5,
                         "threshold": [mix if s == MIXING else bio for *_, s in idx]}, index=idx)


def test_verdict_table_judges_each_row_by_its_own_null():
    scores = pd.DataFrame({MIXING: [0.6, 0.9, 0.95], BIO: [0.6, 0.6, 0.2]}, index=["PCA", "our NB", "random"])
    v = vd.verdict_table(scores, {"PCA": "PCA", "our NB": "NB VAE", "random": "NB VAE"}, _thr())
    assert list(v["verdict"]) == [vd.AFFECTED, vd.WELL, vd.NO_STRUCTURE]


def _dose(site=(0.8, 0.75, 0.6, 0.4), donor=(0.8, 0.79, 0.78, 0.72)):
    recs = [{"effect": e, "strength": s, "kind": "PCA", "mixing": m}
            for e, vals in (("site", site), ("donor", donor))
            for s, m in zip((0.05, 0.1, 0.2, 0.4), vals)]
    recs += [{"effect": e, "strength": 0.0, "kind": "PCA", "mixing": 0.81} for e in ("site", "donor")]
    return pd.DataFrame(recs)


def test_detection_limit_is_the_smallest_flagged_strength():
    lim = vd.detection_limit(_dose(), _thr(mix=0.73), "PCA")
    assert lim == {"site": 0.2, "donor": 0.4}
    assert vd.limit_sentence(lim, 0.4) == "detection limit: site effect 0.2, donor effect 0.4"
    none = vd.detection_limit(_dose(donor=(0.8, 0.8, 0.8, 0.8)), _thr(mix=0.73), "PCA")
    assert vd.limit_sentence(none, 0.4).endswith("donor effect above 0.4")
    assert vd.detection_limit(_dose(), _thr(mix=0.9), "PCA")["site"] == 0.05  # a higher bar flags sooner
    one_site = vd.detection_limit(_dose()[lambda d: d["effect"] == "donor"], _thr(mix=0.73), "PCA")
    assert vd.limit_sentence(one_site, 0.4) == "detection limit: site effect not measurable here, donor effect 0.4"


def test_position_on_the_curve():
    d = _dose()
    assert vd.position(0.7, d, effect="site", kind="PCA") == "between the simulated site effects 0.1 and 0.2"
    assert "like no effect" in vd.position(0.9, d, effect="site", kind="PCA")
    assert "below the strongest" in vd.position(0.1, d, effect="site", kind="PCA")
    assert vd.position(0.401, d, effect="site", kind="PCA") == "at the simulated site effect 0.4"


def test_scope_sentence_flips():
    row = pd.Series({"batch mixing": 0.6, "mixing threshold": 0.7})
    ok = pd.Series({"batch mixing": 0.75, "mixing threshold": 0.7})
    s = vd.scope_sentence(row, what="site effect", where="within donor1", cond=ok)
    assert "**detected**" in s and "at or above" in s
    s = vd.scope_sentence(ok, what="site effect", where="within donor1", cond=row)
    assert "**not detected**" in s and "still below" in s
    nan = pd.Series({"batch mixing": np.nan, "mixing threshold": 0.7})
    assert "cannot be measured" in vd.scope_sentence(nan, what="donor effect", where="within site1", cond=None)


def _ev(pca=0.6, rnd=vd.NO_STRUCTURE):
    v = pd.DataFrame({"batch mixing": [pca, 0.9, 0.95], "mixing threshold": [0.7, 0.7, 0.7],
                      "verdict": ["x", vd.WELL, rnd]}, index=["PCA", "our NB", "random embedding"])
    return SimpleNamespace(verdicts=v, limit_text=lambda kind: "detection limit: site effect 0.1, donor effect 0.2")


def test_conclusion_batch_sentence_flips():
    s = cc.batch_sentence(_ev(), {"site_effect": 0.4, "donor_effect": 0.2})
    assert "Batch effects are detected" in s and "true site and donor effects are 0.4 and 0.2" in s
    assert "random one is called *no structure*" in s
    assert "Batch effects are not detected" in cc.batch_sentence(_ev(pca=0.8), None)
    assert "cannot be trusted" in cc.batch_sentence(_ev(rnd=vd.WELL), None)
    assert "cannot be measured" in cc.batch_sentence(_ev(pca=np.nan), None)


def test_scaling_matches_the_benchmarkers_min_max_scaler():
    from sklearn.preprocessing import MinMaxScaler

    rng = np.random.default_rng(0)
    cols = [c for c in integ.BATCH_COLS + integ.BIO_COLS]
    t = pd.DataFrame(rng.uniform(size=(4, len(cols))), columns=cols, index=list("abcd"))
    t["KBET"] = 0.5  # a constant column scales to 0, as sklearn's does
    s = integ.scaled(t)
    ref = pd.DataFrame(MinMaxScaler().fit_transform(t), columns=cols, index=t.index)
    shared = [c for c in cols if c not in integ.EXTRAS]
    assert np.allclose(s[shared], ref[shared])
    assert np.allclose(s["Total"], 0.4 * s["Batch correction"] + 0.6 * s["Bio conservation"])


@pytest.mark.slow
def test_trajectory_conservation_tells_order_from_noise():
    rng = np.random.default_rng(0)
    time = np.r_[np.zeros(50), rng.uniform(0.01, 1, 300)]  # zeros lie outside the trajectory
    good = np.c_[time, rng.normal(0, 0.01, (350, 4))]
    noise = rng.normal(size=(350, 5))
    assert integ.trajectory_conservation(good, time) > 0.9
    assert abs(integ.trajectory_conservation(noise, time) - 0.5) < 0.2
    assert np.isnan(integ.trajectory_conservation(good[:10], time[:10]))


def test_missing_baselines_say_so(monkeypatch):
    from cellvae.study.scoring import baselines

    assert baselines.installed("cellvae") and not baselines.installed("no_such_module_here")
    monkeypatch.setattr(baselines, "installed", lambda m: False)
    assert baselines.harmony(None) is None
    assert baselines.scvi_baseline(None, None) is None


def test_shuffled_labels_keep_the_counts():
    import anndata as ad

    a = ad.AnnData(obs=pd.DataFrame({"batch": list("aaabbc")}, index=list("123456")))
    name = integ.shuffle_labels(a, "batch", seed=1)
    assert sorted(a.obs[name]) == sorted(a.obs["batch"]) and name == "batch_shuffled"


@pytest.mark.slow
def test_null_threshold_changes_with_size_and_random_is_never_well_integrated(tmp_path, monkeypatch):
    from cellvae.study.calls.controls import control_data
    from cellvae.study.scoring.metrics import pca

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
    sim.obsm["X_random"] = integ.random_embedding(sim.n_obs, 20)
    t = integ.benchmark(sim, {"random": "X_random", "PCA": "X_pca"}, mask=test, full=False)
    tm, tb = thr[2400]
    assert vd.judge(t.loc["random", MIXING], t.loc["random", BIO], mix_threshold=tm, bio_threshold=tb) != vd.WELL
    assert t.loc["random", BIO] < tb <= t.loc["PCA", BIO] + 0.05
    # a corrupt cached score is detected and recomputed
    files = list((tmp_path / "benchmark").glob("*.npz"))
    assert files
    for f in files:
        f.write_bytes(b"not an npz")
    again = integ.benchmark(sim, {"random": "X_random", "PCA": "X_pca"}, mask=test, full=False)
    assert np.allclose(again[MIXING], t[MIXING])


@pytest.mark.slow
def test_prefetched_scores_equal_serial_ones(tmp_path, monkeypatch):
    from concurrent.futures import ThreadPoolExecutor

    from cellvae.data import prepare, simulate_bmmc
    from cellvae.study.chapters.batch_effects import train_sample
    from cellvae.study.scoring.metrics import pca
    from cellvae.study.scoring.prefetch import prefetch

    monkeypatch.setenv("CELLVAE_CACHE", str(tmp_path / "a"))
    a = prepare(simulate_bmmc(1000, 300, seed=1), n_top_genes=200, seed=0)
    pca(a, n_comps=10)
    a.obsm["X_rand"] = integ.random_embedding(a.n_obs, 5)
    test = (a.obs["split"] == "test").to_numpy()
    sample = train_sample(a)
    assert sample.sum() == test.sum() and (a.obs["split"][sample] == "train").all()
    jobs = [({"rand": "X_rand"}, {"pre_key": "X_pca", "mask": test}), ({"pca": "X_pca"}, {"mask": sample, "full": False})]
    serial = [integ.benchmark(a, k, **kw) for k, kw in jobs]
    monkeypatch.setenv("CELLVAE_CACHE", str(tmp_path / "b"))
    with ThreadPoolExecutor(2) as ex:
        prefetch(a, jobs, ex)
    assert len(list((tmp_path / "b" / "benchmark").iterdir())) == 2   # the pool filled the cache ...
    for (k, kw), ref in zip(jobs, serial):                               # ... with what serial gives
        pd.testing.assert_frame_equal(integ.benchmark(a, k, **kw), ref)


def test_padded_kbet_equals_the_unpadded_kernel_and_kbet_per_label(monkeypatch):
    from scib_metrics import kbet_per_label, nearest_neighbors
    from scib_metrics.metrics._kbet import _kbet

    from cellvae.study.scoring import fastscore
    from cellvae.study.scoring.fastscore import exact_neighbors, fast_scoring, padded_kbet

    rng = np.random.default_rng(0)
    for n, k, nb in ((10, 10, 2), (137, 23, 5), (300, 11, 12)):
        b = rng.integers(0, nb, n)
        neigh = b[rng.integers(0, n, (n, k))]
        want, got = _kbet(neigh, b, nb), padded_kbet(_kbet)(neigh, b, nb)
        assert got[0].shape == (n,)  # XLA may sum a padded array in another order: equal to float32 rounding
        np.testing.assert_allclose(got[0], np.asarray(want[0]), rtol=1e-6)
        np.testing.assert_allclose(got[1], np.asarray(want[1]), rtol=1e-5, atol=1e-7)
        np.testing.assert_array_equal(got[1] >= 0.05, np.asarray(want[1]) >= 0.05)
    # the whole metric, shimmed and not, on a graph with a batch effect in one of three types
    x = rng.normal(size=(240, 5))
    lab, bat = np.repeat(["a", "b", "c"], 80), np.tile(["s1", "s2"], 120)
    x[(lab == "a") & (bat == "s1"), 0] += 3.0
    graph = exact_neighbors(x, 30)
    with monkeypatch.context() as m:  # the same diffusion neighbours (pynndescent compiles for ~30 s)
        m.setattr(nearest_neighbors, "pynndescent", fastscore._exact_as_pynndescent)
        plain = kbet_per_label(graph, bat, lab)
    from scib_metrics.metrics import _kbet as kbet_module

    with fast_scoring():
        assert kbet_module._kbet is not _kbet  # the padded wrapper is in place ...
        shimmed = kbet_per_label(graph, bat, lab)
    assert kbet_module._kbet is _kbet  # ... and scib-metrics' own kernel is back after
    assert shimmed == plain and 0 < plain < 1
    with pytest.raises(RuntimeError), fast_scoring():
        raise RuntimeError("a metric failed")
    assert kbet_module._kbet is _kbet


def test_null_size_text_follows_the_data(monkeypatch):
    import anndata as ad

    sim = ad.AnnData(np.zeros((30, 4)), uns={"simulation": {"n_genes": 40}})
    assert cal.size_text(sim) == "30 cells, 40 simulated genes, 4 HVGs"
    real = ad.AnnData(np.zeros((30, 4)), obs=pd.DataFrame({"batch": ["s1d1", "s1d2"] * 15},
                                                          index=[f"c{i}" for i in range(30)]))
    assert cal.size_text(real) == "30 cells in the batches s1d1, s1d2, 8 simulated genes, 4 HVGs"
    monkeypatch.setattr("cellvae.study.calls.controls.CONTROL_MAX_CELLS", 20)  # the cap that matched_cells applies
    assert cal.size_text(real).startswith("20 cells (at most 20) in the batches")
