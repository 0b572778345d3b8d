"""Preparing data: HVGs as scanpy picks them, variants, the split and the fingerprint."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from cellvae import data
from cellvae.data import DataError


@pytest.mark.parametrize("frac", [0.0, 1.0, 1e-9])
def test_empty_split(frac):
    with pytest.raises(DataError, match="test_fraction|empty train or test"):
        data.split_cells(100, test_fraction=frac)


def test_prepare_keeps_gex_hvgs_and_split(sim):
    assert sim.n_vars == 200
    assert (sim.var["feature_types"] == "GEX").all()
    n_test = (sim.obs["split"] == "test").sum()
    assert n_test == round(0.2 * sim.n_obs)
    assert sp.issparse(sim.layers["counts"])
    assert sim.uns["cellvae"]["fingerprint"] == data.fingerprint(sim)


def test_split_is_seeded():
    assert (data.split_cells(1000, seed=3) == data.split_cells(1000, seed=3)).all()
    assert (data.split_cells(1000, seed=3) != data.split_cells(1000, seed=4)).any()


def test_hvgs_prefer_variable_genes(sim_raw):
    a = data.prepare(sim_raw, n_top_genes=400)
    idx = data.select_hvgs(a, 50)
    logx = data.normalise(a, log=True).toarray()
    var = logx.var(0)
    assert np.median(var[idx]) > np.median(var)


def test_variants(sim):
    raw = data.get_variant(sim, "raw")
    pre = data.get_variant(sim, "preprocessed")
    proc = data.get_variant(sim, "processed")
    sf = data.size_factors(sim)
    np.testing.assert_allclose(pre[0].toarray().ravel(), raw[0].toarray().ravel() / sf[0], rtol=1e-5)
    np.testing.assert_allclose(proc.data, np.log1p(pre.data), rtol=1e-5)
    with pytest.raises(DataError, match="unknown variant"):
        data.get_variant(sim, "zscore")


def test_fingerprint_changes_with_counts(sim):
    a = sim.copy()
    c = a.layers["counts"].copy()
    c.data[0] += 1
    a.layers["counts"] = c
    assert data.fingerprint(a) != data.fingerprint(sim)


def test_hvgs_are_scanpys_seurat_flavour(sim_raw):
    import scanpy as sc

    a = data.prepare(sim_raw, n_top_genes=400)
    logx = sc.AnnData(data.normalise(a, log=True))
    sc.pp.highly_variable_genes(logx, flavor="seurat", n_top_genes=60)
    np.testing.assert_array_equal(data.select_hvgs(a, 60), np.flatnonzero(logx.var["highly_variable"]))


def test_hvgs_are_marked_in_var_as_scanpy_does(sim_raw):
    import scanpy as sc

    a = data.prepare(sim_raw, n_top_genes=400)
    assert a.var["highly_variable"].dtype == bool and a.var["highly_variable"].all()  # kept genes only
    idx = data.select_hvgs(a, 60)
    hv = a.var["highly_variable"]
    assert hv.dtype == bool and hv.sum() == 60 and list(hv.index) == list(a.var_names)
    np.testing.assert_array_equal(np.flatnonzero(hv), idx)
    logx = sc.AnnData(data.normalise(a, log=True), var=pd.DataFrame(index=a.var_names))
    sc.pp.highly_variable_genes(logx, flavor="seurat", n_top_genes=60)
    np.testing.assert_array_equal(hv.to_numpy(), logx.var["highly_variable"].to_numpy())
    assert data.select_hvgs(a, a.n_vars).size == a.n_vars and a.var["highly_variable"].all()


def test_prepare_shares_one_counts_matrix_and_leaves_input_alone(sim_raw):
    before = sim_raw.obs.copy()
    a = data.prepare(sim_raw, n_top_genes=100)
    assert a.X is a.layers["counts"]
    assert sim_raw.obs.equals(before) and "split" not in sim_raw.obs
    assert a.uns["simulation"] == sim_raw.uns["simulation"]
