"""The batch metrics on simulated controls: an injected effect is flagged, a null is not."""

from __future__ import annotations

import pytest

from cellvae.study.controls import MARGIN, run_controls
from cellvae.study.metrics import scib_scores

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def ctrl(tmp_path_factory):
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("CELLVAE_CACHE", str(tmp_path_factory.mktemp("ctrl-cache")))
        return run_controls(n_null_seeds=3, n_cells=2500, n_genes=1200, train_models=True)


def test_injected_effect_is_flagged(ctrl):
    inj = ctrl.row("injected: PCA")["batch mixing"]
    assert ctrl.flagged(inj)
    # robustly so: the drop clears the margin by two null standard deviations
    assert ctrl.null_mean - inj > MARGIN + 2 * ctrl.null_sd


def test_null_is_not_flagged(ctrl):
    nulls = ctrl.nulls
    assert len(nulls) == 3
    assert not any(ctrl.flagged(v) for v in nulls)
    assert ctrl.null_sd < MARGIN / 3  # chance variation stays well inside the margin


def test_conditioning_reduces_effect_and_keeps_biology(ctrl):
    nb, cond = ctrl.row("injected: NB"), ctrl.row("injected: NB +batch")
    assert cond["batch mixing"] > nb["batch mixing"]
    assert cond["bio conservation"] > nb["bio conservation"] - 0.05


def test_glue_sentences(ctrl):
    g = ctrl.glue()
    assert "flagged" in g["control_verdict"] and "no null seed is flagged" in g["control_verdict"]
    assert g["n_null_seeds"] == 3


def test_scores_in_range():
    import numpy as np

    rng = np.random.default_rng(0)
    import anndata as ad
    import pandas as pd

    obs = pd.DataFrame({"b": rng.choice(["a", "b"], 300), "ct": rng.choice(["x", "y", "z"], 300)})
    a = ad.AnnData(obs=obs, obsm={"X_rand": rng.normal(size=(300, 5)).astype("float32")})
    s = scib_scores(a, "X_rand", batch_key="b", label_key="ct", n_neighbors=15)
    for k, v in s.items():
        assert 0.0 <= v <= 1.0, k
    assert abs(s["total"] - (0.4 * s["batch correction"] + 0.6 * s["bio conservation"])) < 1e-9


def test_umap_above_scanpys_dense_neighbour_limit_is_cached(tmp_path):
    """8,300 cells crosses scanpy's 8,192-cell switch to approximate neighbours (a past crash)."""
    import anndata as ad
    import numpy as np
    import pandas as pd

    from cellvae.study.metrics import umap

    n = 8300
    rng = np.random.default_rng(0)
    a = ad.AnnData(obs=pd.DataFrame(index=[f"c{i}" for i in range(n)]),
                   obsm={"X_lat": rng.normal(size=(n, 8)).astype("float32")})
    xy = umap(a, "X_lat")
    assert xy.shape == (n, 2) and np.isfinite(xy).all()
    np.testing.assert_array_equal(a.obsm["X_lat_umap"], xy)
    np.testing.assert_array_equal(umap(a, "X_lat"), xy)  # served from the cache


def test_controls_are_matched_to_a_real_file():
    from cellvae.study.controls import control_data, controls_sentence, matched_controls
    from cellvae.study.real import starter_data

    real = starter_data()
    m = matched_controls(real)
    assert m["batches"] == ("s1d1", "s1d2") and m["hvgs"] == real.n_vars and m["n_genes"] == 2 * real.n_vars
    ctl = control_data(site_effect=0.0, donor_effect=0.0, seed=0, **(m | {"n_genes": 200, "hvgs": 100}))
    assert set(ctl.obs["batch"].astype(str)) == {"s1d1", "s1d2"}
    assert abs(ctl.n_obs - real.n_obs) < 0.2 * real.n_obs  # about the file's own number of cells
    assert "s1d1, s1d2, the file's own" in controls_sentence(real, m)
    one = real[real.obs["batch"] == "s1d1"].copy()
    one.obs["batch"] = "lane1"
    m1 = matched_controls(one)
    assert len(m1["batches"]) == 2  # never a one-batch control, whose batch metrics are undefined
    assert "standing in for the file's lane1" in controls_sentence(one, m1)
    real.uns["simulation"] = {"seed": 0}
    assert matched_controls(real) == {} and "default control size" in controls_sentence(real, {})
