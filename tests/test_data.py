"""The loader: real files, the starter schema, and every bad-input message."""

from __future__ import annotations

import gzip
import shutil

import anndata as ad
import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from cellvae import data
from cellvae.data import DataError


def _write(adata, path):
    adata.write_h5ad(path)
    return path


def test_missing_file(tmp_path):
    with pytest.raises(DataError, match="data file not found"):
        data.read_h5ad(tmp_path / "nope.h5ad")


def test_env_var_unset(monkeypatch):
    monkeypatch.delenv(data.ENV_VAR, raising=False)
    with pytest.raises(DataError, match=r"\$CELLVAE_DATA is not set"):
        data.resolve_path(None)


def test_env_var_used(tmp_path, monkeypatch, sim_raw):
    p = _write(sim_raw, tmp_path / "x.h5ad")
    monkeypatch.setenv(data.ENV_VAR, str(p))
    assert data.read_h5ad().n_obs == sim_raw.n_obs


def test_not_h5ad(tmp_path):
    p = tmp_path / "fake.h5ad"
    p.write_text("cell,gene\n1,2\n")
    with pytest.raises(DataError, match="is not an h5ad file"):
        data.read_h5ad(p)


def test_gzip_is_read_without_writing_beside_input(tmp_path, sim_raw):
    p = _write(sim_raw, tmp_path / "x.h5ad")
    gz = tmp_path / "in" / "x.h5ad.gz"
    gz.parent.mkdir()
    with open(p, "rb") as src, gzip.open(gz, "wb") as dst:
        shutil.copyfileobj(src, dst)
    got = data.read_h5ad(gz)
    assert got.shape == sim_raw.shape
    assert sorted(x.name for x in gz.parent.iterdir()) == ["x.h5ad.gz"]


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


def test_fetch_rejects_bad_hash(monkeypatch, tmp_path):
    import pooch

    def fake_retrieve(*args, **kwargs):
        assert kwargs["known_hash"] == f"sha256:{data.GEO_SHA256}"
        raise ValueError("SHA256 hash of downloaded file (abc) does not match the known hash")

    monkeypatch.setattr(pooch, "retrieve", fake_retrieve)
    with pytest.raises(DataError, match="failed its sha256 check"):
        data.fetch_geo(dest=tmp_path)


def test_pearson_moments_match_dense_residuals_in_any_chunking(sim):
    x = sim.layers["counts"].toarray().astype(np.float64)
    mu = x.sum(1, keepdims=True) @ x.sum(0, keepdims=True) / x.sum()
    r = np.clip((x - mu) / np.sqrt(mu + mu**2 / 100.0), -np.sqrt(sim.n_obs), np.sqrt(sim.n_obs))
    for chunk in (7, 256, 10_000):
        mean, var = data.pearson_residual_moments(sim.layers["counts"], chunk_size=chunk)
        np.testing.assert_allclose(mean, r.mean(0), rtol=1e-6, atol=1e-9)
        np.testing.assert_allclose(var, r.var(0), rtol=1e-6, atol=1e-9)


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


@pytest.mark.parametrize("n_top", [50, 500, 999])
def test_chunked_hvgs_are_scanpys_on_the_real_starter(starter_path, n_top):
    import scanpy as sc

    s = data.read_h5ad(starter_path)
    data.harmonize_obs(s)
    logx = sc.AnnData(data.normalise(s, log=True))
    sc.pp.highly_variable_genes(logx, flavor="seurat", n_top_genes=n_top)
    want = np.flatnonzero(logx.var["highly_variable"])
    np.testing.assert_array_equal(data.select_hvgs(s, n_top), want)
    norm = data.seurat_dispersions(s.layers["counts"], data.size_factors(s), chunk_size=37)
    np.testing.assert_allclose(norm, logx.var["dispersions_norm"].to_numpy(), rtol=1e-5, atol=1e-6,
                               equal_nan=True)  # scanpy stores float32


def test_counts_only_read_skips_x_and_matches_full_read(tmp_path, sim_raw, monkeypatch):
    from cellvae.data import io

    p = _write(sim_raw, tmp_path / "x.h5ad")
    monkeypatch.setattr(io, "READ_BLOCK_ROWS", 97)  # many blocks, a ragged last one
    lean = data.read_h5ad(p, counts_only=True)
    assert lean.X is None and list(lean.layers) == ["counts"] and not lean.obsm and not lean.uns
    c = lean.layers["counts"]
    assert sp.isspmatrix_csr(c) and c.dtype == np.float32 and c.indices.dtype == np.int32
    assert (c != sim_raw.layers["counts"]).nnz == 0
    assert lean.obs.equals(sim_raw.obs) and lean.var.equals(sim_raw.var)
    full = data.prepare(data.read_h5ad(p), n_top_genes=100)
    assert data.prepare(lean, n_top_genes=100).uns["cellvae"]["fingerprint"] == full.uns["cellvae"]["fingerprint"]


@pytest.mark.parametrize("layout", ["csr", "csc", "dense"])
def test_counts_only_read_keeps_gex_features(tmp_path, sim_raw, monkeypatch, layout):
    """CSR (the GEO file's) is selected block by block; CSC (the starter's) and dense after reading."""
    from cellvae.data import io

    n = sim_raw.n_vars
    adt = sp.csr_matrix(np.random.default_rng(0).poisson(30.0, (sim_raw.n_obs, 7)).astype(np.float32))
    counts = sp.hstack([sim_raw.layers["counts"][:, : n // 2], adt, sim_raw.layers["counts"][:, n // 2:]])
    var = pd.concat([sim_raw.var.iloc[: n // 2], pd.DataFrame(index=[f"ADT{i}" for i in range(7)]),
                     sim_raw.var.iloc[n // 2:]])
    var["feature_types"] = ["GEX"] * (n // 2) + ["ADT"] * 7 + ["GEX"] * (n - n // 2)
    stored = {"csr": sp.csr_matrix, "csc": sp.csc_matrix, "dense": lambda m: m.toarray()}[layout](counts)
    cite = ad.AnnData(obs=sim_raw.obs.copy(), var=var, layers={"counts": stored})
    p = _write(cite, tmp_path / "cite.h5ad")
    monkeypatch.setattr(io, "READ_BLOCK_ROWS", 97)
    lean = data.read_h5ad(p, counts_only=True, feature_type="GEX")
    assert list(lean.var_names) == list(sim_raw.var_names)  # the ADT columns never read in
    c = lean.layers["counts"]
    assert sp.isspmatrix_csr(c) and c.has_sorted_indices and (c != sim_raw.layers["counts"]).nnz == 0
    both = data.read_h5ad(p, counts_only=True)
    assert both.n_vars == n + 7 and (both.layers["counts"] != sp.csr_matrix(counts)).nnz == 0
    via_load = data.load_bmmc(p, n_top_genes=100)
    assert via_load.uns["cellvae"]["fingerprint"] == data.prepare(cite, n_top_genes=100).uns["cellvae"]["fingerprint"]
    with pytest.raises(ValueError, match="needs counts_only=True"):
        data.read_h5ad(p, feature_type="GEX")


def test_counts_only_read_without_counts_layer_is_rejected_by_prepare(tmp_path, sim_raw):
    a = sim_raw.copy()
    del a.layers["counts"]
    lean = data.read_h5ad(_write(a, tmp_path / "x.h5ad"), counts_only=True)
    with pytest.raises(DataError, match=r"no layers\['counts'\]"):
        data.prepare(lean, n_top_genes=50)


def test_prepare_shares_one_counts_matrix_and_leaves_input_alone(sim_raw):
    before = sim_raw.obs.copy()
    a = data.prepare(sim_raw, n_top_genes=100)
    assert a.X is a.layers["counts"]
    assert sim_raw.obs.equals(before) and "split" not in sim_raw.obs
    assert a.uns["simulation"] == sim_raw.uns["simulation"]
