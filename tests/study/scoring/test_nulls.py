"""The scores' nulls: the NMI of random projections, and batch mixing under within-type shuffles."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest


@pytest.mark.slow
def test_shuffle_null_sits_near_one_and_is_cached(tmp_path, monkeypatch):
    monkeypatch.setenv("CELLVAE_CACHE", str(tmp_path))
    import anndata as ad

    from cellvae.study.scoring.nulls import shuffle_null

    rng = np.random.default_rng(0)
    n = 400
    obs = pd.DataFrame({"batch": rng.choice(["a", "b"], n), "cell_type": np.repeat(list("wxyz"), n // 4)},
                       index=[f"c{i}" for i in range(n)])
    adata = ad.AnnData(obs=obs, obsm={"X": rng.normal(size=(n, 6)).astype("float32")})
    null = shuffle_null(adata, "X", n_shuffles=3)
    assert null.shape == (3,) and np.all(np.abs(null - 1) < 0.15)
    np.testing.assert_array_equal(shuffle_null(adata, "X", n_shuffles=3), null)
    assert len(list((tmp_path / "metrics").glob("*.npz"))) == 1


def test_random_projection_is_seeded_and_its_nmi_null_cached(tmp_path, monkeypatch):
    monkeypatch.setenv("CELLVAE_CACHE", str(tmp_path))
    import anndata as ad
    import scipy.sparse as sp

    from cellvae.study.scoring.nulls import projection_nmi, random_projection

    rng = np.random.default_rng(0)
    types = np.repeat(np.arange(4), 50)
    counts = rng.poisson(np.where(np.arange(30)[None, :] // 8 == types[:, None], 20.0, 1.0))
    adata = ad.AnnData(obs=pd.DataFrame({"cell_type": types.astype(str)}, index=[f"c{i}" for i in range(200)]),
                       layers={"counts": sp.csr_matrix(counts.astype(np.float32))})
    p = random_projection(adata, 3, seed=1)
    assert p.shape == (200, 3) and np.array_equal(p, random_projection(adata, 3, seed=1))
    nmi = projection_nmi(adata, 3, n_draws=3)
    assert nmi.shape == (3,) and nmi.min() > 0.5  # a random map keeps strong cell-type structure
    np.testing.assert_array_equal(projection_nmi(adata, 3, n_draws=3), nmi)
