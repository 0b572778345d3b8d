"""The log1p change of variables that puts the two Gaussian families on one scale."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from cellvae.data import size_factors
from cellvae.study.calls import nat_units


def test_jacobian_is_the_mean_per_cell_sum_of_log1p_scaled_counts(sim):
    mask = (sim.obs["split"] == "test").to_numpy()
    x = sim.layers["counts"][mask].toarray().astype(np.float64)
    y = x / size_factors(sim)[mask][:, None]
    assert nat_units.log1p_jacobian(sim, mask) == pytest.approx(np.log1p(y).sum(1).mean(), rel=1e-5)


def test_on_scaled_counts_subtracts_the_jacobian():
    t = pd.DataFrame({"family": ["gaussian/preprocessed", "gaussian/processed"] * 2, "model": ["M1", "M1", "M2", "M2"],
                      "test IWAE": [-5000.0, -1600.0, -4000.0, -1700.0]})
    out = nat_units.on_scaled_counts(t, 1000.0).set_index("model")
    assert out.loc["M1", "on log1p, converted to counts/s"] == -2600.0
    assert out.loc["M1", "converted minus counts/s"] == 2400.0
    assert out.loc["M2", "converted minus counts/s"] == 1300.0
