"""Input validation: every bad-input message, and the starter's columns harmonised to the GEO schema."""

from __future__ import annotations

import numpy as np
import pytest

from cellvae import data
from cellvae.data import DataError


def test_no_counts_layer(sim_raw):
    a = sim_raw.copy()
    del a.layers["counts"]
    with pytest.raises(DataError, match=r"no layers\['counts'\]"):
        data.prepare(a, n_top_genes=100)


@pytest.mark.parametrize(
    "value, msg",
    [(np.nan, "NaN or inf"), (np.inf, "NaN or inf"), (-1.0, "negative"), (0.5, "not integers")],
)
def test_bad_counts(sim_raw, value, msg):
    a = sim_raw.copy()
    c = a.layers["counts"].copy()
    c.data[0] = value
    a.layers["counts"] = c
    with pytest.raises(DataError, match=msg):
        data.prepare(a, n_top_genes=100)


def test_bad_dense_counts():
    with pytest.raises(DataError, match="negative"):
        data.check_counts(np.array([[1.0, -2.0]]))


@pytest.mark.parametrize("col", ["cell_type", "batch"])
def test_missing_obs_column(sim_raw, col):
    a = sim_raw.copy()
    del a.obs[col]
    with pytest.raises(DataError, match=rf"missing required column\(s\) \['{col}'\]"):
        data.prepare(a, n_top_genes=100)


def test_too_few_genes(sim_raw):
    with pytest.raises(DataError, match="only 400 genes but 5000 highly variable genes requested"):
        data.prepare(sim_raw, n_top_genes=5000)


def test_starter_file_loads(starter_path):
    raw = data.read_h5ad(starter_path)
    assert data.harmonize_obs(raw.copy()) == "starter"
    a = data.prepare(raw, n_top_genes=500, seed=0)
    assert a.shape == (600, 500)
    assert set(a.obs["batch"].astype(str)) == {"s1d1", "s1d2"}
    assert set(a.obs["Site"].astype(str)) == {"site1"}
    assert set(a.obs["DonorNumber"].astype(str)) == {"donor1", "donor2"}
    for col in ("GEX_n_genes_by_counts", "GEX_pct_counts_mt", "GEX_size_factors", "GEX_phase"):
        assert col in a.obs
    np.testing.assert_allclose(data.size_factors(a), raw.obs["size_factors"].to_numpy())
