"""Reading h5ad files: paths, $CELLVAE_DATA, gzip, the sha256-checked download, counts-only reads."""

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


def test_fetch_rejects_bad_hash(monkeypatch, tmp_path):
    import pooch

    def fake_retrieve(*args, **kwargs):
        assert kwargs["known_hash"] == f"sha256:{data.GEO_SHA256}"
        raise ValueError("SHA256 hash of downloaded file (abc) does not match the known hash")

    monkeypatch.setattr(pooch, "retrieve", fake_retrieve)
    with pytest.raises(DataError, match="failed its sha256 check"):
        data.fetch_geo(dest=tmp_path)


def test_counts_only_read_skips_x_and_matches_full_read(tmp_path, sim_raw, monkeypatch):
    from cellvae.data import io

    p = _write(sim_raw, tmp_path / "x.h5ad")
    monkeypatch.setattr(io, "READ_BLOCK_ROWS", 97)  # many blocks, a ragged last one
    lean = data.read_h5ad(p, counts_only=True)
    assert lean.X is None and list(lean.layers) == ["counts"] and not lean.obsm
    assert list(lean.uns) == ["simulation"] and lean.uns["simulation"]["seed"] == sim_raw.uns["simulation"]["seed"]
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
