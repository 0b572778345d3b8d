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


def test_isolated_labels_are_left_out_when_one_of_them_is_a_handful_of_cells():
    from cellvae.study.scoring.integration import (
        BIO,
        MIN_GROUP,
        _leave_out_small_isolated,
        isolated_label_sizes,
    )

    # "rare" is in one batch, the others in both: the rare type alone is isolated
    labels = np.array(["a"] * 60 + ["b"] * 60 + ["rare"] * 5)
    batch = np.array(["x", "y"] * 60 + ["x"] * 5)
    assert isolated_label_sizes(labels, batch).to_dict() == {"rare": 5}
    res = pd.DataFrame({"Isolated labels": [0.9], "KMeans NMI": [0.5], "KMeans ARI": [0.3], "Silhouette label": [0.6],
                        "cLISI": [1.0], "Trajectory conservation": [0.0], "Batch correction": [0.5],
                        BIO: [0.66], "Total": [0.596]})
    out = _leave_out_small_isolated(res.copy(), labels, batch)
    assert np.isnan(out.loc[0, "Isolated labels"]) and out.loc[0, BIO] == pytest.approx(0.6)  # the other four
    assert out.loc[0, "Total"] == pytest.approx(0.4 * 0.5 + 0.6 * 0.6)
    # the same rare type with enough cells is kept, and the aggregate is the Benchmarker's
    labels[-5:] = "a"
    big = np.concatenate([labels, ["rare"] * MIN_GROUP]), np.concatenate([batch, ["x"] * MIN_GROUP])
    kept = _leave_out_small_isolated(res.copy(), *big)
    assert kept.loc[0, "Isolated labels"] == 0.9 and kept.loc[0, BIO] == 0.66
