"""The scIB wrapper, cached UMAPs and the random-embedding NMI null."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from cellvae.study.scoring.metrics import scib_scores


@pytest.mark.slow
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


@pytest.mark.slow
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


def test_noise_nmi_is_low_seeded_and_cached(tmp_path, monkeypatch):
    monkeypatch.setenv("CELLVAE_CACHE", str(tmp_path))
    import anndata as ad

    from cellvae.study.scoring.metrics import noise_nmi

    labels = np.repeat(list("abcd"), 50)
    adata = ad.AnnData(obs=pd.DataFrame({"cell_type": labels}, index=[f"c{i}" for i in range(200)]))
    a = noise_nmi(adata, 5, n_draws=3)
    assert a.shape == (3,) and (a < 0.2).all() and len(set(a)) == 3
    assert len(list((tmp_path / "metrics").glob("*.npz"))) == 1
    np.testing.assert_array_equal(noise_nmi(adata, 5, n_draws=3), a)
    assert not np.array_equal(noise_nmi(adata, 5, n_draws=3, seed=3), a)  # another seed, another entry
    assert noise_nmi(adata, 4, n_draws=3).shape == (3,)
    assert len(list((tmp_path / "metrics").glob("*.npz"))) == 3
