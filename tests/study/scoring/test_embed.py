"""Cached UMAPs of an embedding."""

from __future__ import annotations

import pytest


@pytest.mark.slow
def test_umap_above_scanpys_dense_neighbour_limit_is_cached(tmp_path):
    """8,300 cells crosses scanpy's 8,192-cell switch to approximate neighbours (a past crash)."""
    import anndata as ad
    import numpy as np
    import pandas as pd

    from cellvae.study.scoring.embed import umap

    n = 8300
    rng = np.random.default_rng(0)
    a = ad.AnnData(obs=pd.DataFrame(index=[f"c{i}" for i in range(n)]),
                   obsm={"X_lat": rng.normal(size=(n, 8)).astype("float32")})
    xy = umap(a, "X_lat")
    assert xy.shape == (n, 2) and np.isfinite(xy).all()
    np.testing.assert_array_equal(a.obsm["X_lat_umap"], xy)
    np.testing.assert_array_equal(umap(a, "X_lat"), xy)  # served from the cache
