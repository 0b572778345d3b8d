"""The simulated control data matched to a file."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.slow


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
