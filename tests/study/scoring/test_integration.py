"""The integration benchmark: min-max scaling, trajectory conservation, shuffled labels."""

import numpy as np
import pandas as pd
import pytest

from cellvae.study.scoring import integration as integ


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


def test_shuffled_labels_keep_the_counts():
    import anndata as ad

    a = ad.AnnData(obs=pd.DataFrame({"batch": list("aaabbc")}, index=list("123456")))
    name = integ.shuffle_labels(a, "batch", seed=1)
    assert sorted(a.obs[name]) == sorted(a.obs["batch"]) and name == "batch_shuffled"


def test_isolated_labels_are_left_out_once_per_dataset_when_one_of_them_is_a_handful_of_cells():
    import anndata as ad

    from cellvae.study.scoring.isolated import (
        BIO,
        MIN_GROUP,
        drops_isolated,
        isolated_label_sizes,
        leave_out_isolated,
    )

    # "rare" is in one batch, the others in both: the rare type alone is isolated
    labels = np.array(["a"] * 60 + ["b"] * 60 + ["rare"] * 5)
    batch = np.array(["x", "y"] * 60 + ["x"] * 5)
    assert isolated_label_sizes(labels, batch).to_dict() == {"rare": 5}
    res = pd.DataFrame({"Isolated labels": [0.9], "KMeans NMI": [0.5], "KMeans ARI": [0.3], "Silhouette label": [0.6],
                        "cLISI": [1.0], "Trajectory conservation": [0.0], "Batch correction": [0.5],
                        BIO: [0.66], "Total": [0.596]})
    out = leave_out_isolated(res.copy(), True)
    assert np.isnan(out.loc[0, "Isolated labels"]) and out.loc[0, BIO] == pytest.approx(0.6)  # the other four
    assert out.loc[0, "Total"] == pytest.approx(0.4 * 0.5 + 0.6 * 0.6)
    kept = leave_out_isolated(res.copy(), False)
    assert kept.loc[0, "Isolated labels"] == 0.9 and kept.loc[0, BIO] == 0.66
    # the decision reads the test cells and the real batches, whatever a single score reads
    split = np.where(np.arange(len(labels)) % 2 == 0, "test", "train")
    split[-5:] = "test"
    a = ad.AnnData(obs=pd.DataFrame({"cell_type": labels, "batch": batch, "split": split},
                                    index=[f"c{i}" for i in range(len(labels))]))
    assert drops_isolated(a)
    a.obs.loc[a.obs["cell_type"] == "rare", "split"] = "train"  # no rare test cell: the rare type is not scored
    assert not drops_isolated(a)
    big = ad.AnnData(obs=pd.DataFrame({"cell_type": ["a"] * 40 + ["rare"] * MIN_GROUP,
                                       "batch": ["x", "y"] * 20 + ["x"] * MIN_GROUP},
                                      index=[f"c{i}" for i in range(40 + MIN_GROUP)]))
    assert not drops_isolated(big)


@pytest.mark.slow
def test_batch_mixing_alone_equals_the_benchmarks_mixing_columns(tmp_path, monkeypatch):
    from cellvae.study.calls.controls import control_data
    from cellvae.study.scoring.embed import pca

    monkeypatch.setenv("CELLVAE_CACHE", str(tmp_path))
    sim = control_data(site_effect=0.3, donor_effect=0.0, seed=1, n_cells=900, n_genes=600, hvgs=300)
    pca(sim, n_comps=20)
    sim.obsm["X_random"] = integ.random_embedding(sim.n_obs, 20, seed=0)
    test = (sim.obs["split"] == "test").to_numpy()
    keys = {"PCA": "X_pca", "random": "X_random"}
    full = integ.benchmark(sim, keys, mask=test, full=False)
    alone = integ.batch_mixing(sim, keys, mask=test)
    assert list(alone.columns) == list(integ.MIXING_COLS)
    pd.testing.assert_frame_equal(alone, full[list(integ.MIXING_COLS)], check_exact=False, rtol=1e-6)  # float32 sums in JAX
    assert alone.loc["PCA", integ.MIXING] < alone.loc["random", integ.MIXING]  # the site effect shows
    with pytest.raises(ValueError, match="batch metrics need two"):
        integ.batch_mixing(sim, keys, mask=test & (sim.obs["batch"] == sim.obs["batch"].iloc[0]).to_numpy())


def test_batch_mixing_reads_the_embedding_before_the_benchmarker_rewrites_it(monkeypatch, tmp_path):
    monkeypatch.setenv("CELLVAE_CACHE", str(tmp_path))
    seen = []

    def spy(bare, keys):
        seen.append({k: bare.obsm[k].copy() for k in keys})
        return {k: {c: 1.0 for c in integ.MIXING_COLS} for k in keys}

    class Stop(Exception):
        pass

    def rewrite(self, **kw):  # the Benchmarker's prepare, which touches the arrays it is given
        for k in self._embedding_obsm_keys:
            self._adata.obsm[k] += 1.0
        raise Stop

    monkeypatch.setattr(integ, "_mixing", spy)
    monkeypatch.setattr("scib_metrics.benchmark.Benchmarker.prepare", rewrite)
    rng = np.random.default_rng(0)
    import anndata as ad

    bare = ad.AnnData(obs=pd.DataFrame({"batch": ["a", "b"] * 20, "labels": ["x"] * 40},
                                       index=[f"c{i}" for i in range(40)]),
                      obsm={"e": rng.normal(size=(40, 3)).astype(np.float32)})
    given = bare.obsm["e"].copy()
    with pytest.raises(Stop):
        integ._run_benchmarker(bare, "e", full=False, drop_isolated=False)
    np.testing.assert_array_equal(seen[0]["e"], given)
