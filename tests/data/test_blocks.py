"""Block-wise statistics: Pearson residual moments and seurat dispersions in any chunking."""

from __future__ import annotations

import numpy as np
import pytest

from cellvae import data


def test_pearson_moments_match_dense_residuals_in_any_chunking(sim):
    x = sim.layers["counts"].toarray().astype(np.float64)
    mu = x.sum(1, keepdims=True) @ x.sum(0, keepdims=True) / x.sum()
    r = np.clip((x - mu) / np.sqrt(mu + mu**2 / 100.0), -np.sqrt(sim.n_obs), np.sqrt(sim.n_obs))
    for chunk in (7, 256, 10_000):
        mean, var = data.pearson_residual_moments(sim.layers["counts"], chunk_size=chunk)
        np.testing.assert_allclose(mean, r.mean(0), rtol=1e-6, atol=1e-9)
        np.testing.assert_allclose(var, r.var(0), rtol=1e-6, atol=1e-9)


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
