"""The scIB wrapper and the simulated control data matched to a file."""

from __future__ import annotations

import pytest

from cellvae.study.scoring.metrics import scib_scores

pytestmark = pytest.mark.slow


def test_scores_in_range():
    import numpy as np

    rng = np.random.default_rng(0)
    import anndata as ad
    import pandas as pd

    obs = pd.DataFrame({"b": rng.choice(["a", "b"], 300), "ct": rng.choice(["x", "y", "z"], 300)})
    a = ad.AnnData(obs=obs, obsm={"X_rand": rng.normal(size=(300, 5)).astype("float32")})
    before = a.obsm["X_rand"].copy()
    s = scib_scores(a, "X_rand", batch_key="b", label_key="ct", n_neighbors=15)
    # scoring leaves the embedding as it was, to the bit: later cache keys hash its content
    assert np.array_equal(a.obsm["X_rand"], before)
    for k, v in s.items():
        assert 0.0 <= v <= 1.0, k
    assert abs(s["total"] - (0.4 * s["batch correction"] + 0.6 * s["bio conservation"])) < 1e-9


def test_umap_above_scanpys_dense_neighbour_limit_is_cached(tmp_path):
    """8,300 cells crosses scanpy's 8,192-cell switch to approximate neighbours (a past crash)."""
    import anndata as ad
    import numpy as np
    import pandas as pd

    from cellvae.study.scoring.metrics import umap

    n = 8300
    rng = np.random.default_rng(0)
    a = ad.AnnData(obs=pd.DataFrame(index=[f"c{i}" for i in range(n)]),
                   obsm={"X_lat": rng.normal(size=(n, 8)).astype("float32")})
    xy = umap(a, "X_lat")
    assert xy.shape == (n, 2) and np.isfinite(xy).all()
    np.testing.assert_array_equal(a.obsm["X_lat_umap"], xy)
    np.testing.assert_array_equal(umap(a, "X_lat"), xy)  # served from the cache


def test_controls_are_matched_to_a_real_file():
    from cellvae.study.calls.controls import control_data, matched_controls
    from cellvae.study.chapters.real_cells import starter_data

    real = starter_data()
    m = matched_controls(real)
    assert m["batches"] == ("s1d1", "s1d2") and m["hvgs"] == real.n_vars and m["n_genes"] == 2 * real.n_vars
    ctl = control_data(site_effect=0.0, donor_effect=0.0, seed=0, **(m | {"n_genes": 200, "hvgs": 100}))
    assert set(ctl.obs["batch"].astype(str)) == {"s1d1", "s1d2"}
    assert abs(ctl.n_obs - real.n_obs) < 0.2 * real.n_obs  # about the file's own number of cells
    one = real[real.obs["batch"] == "s1d1"].copy()
    one.obs["batch"] = "lane1"
    m1 = matched_controls(one)
    assert len(m1["batches"]) == 2  # never a one-batch control, whose batch metrics are undefined
    assert "s1d1" in m1["batches"]  # a stand-in from the simulator's own batches
    real.uns["simulation"] = {"seed": 0}
    assert matched_controls(real) == {}
