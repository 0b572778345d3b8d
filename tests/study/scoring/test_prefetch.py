"""Prefetched benchmark scores equal serial ones."""

import pandas as pd
import pytest

from cellvae.study.scoring import integration as integ


@pytest.mark.slow
def test_prefetched_scores_equal_serial_ones(tmp_path, monkeypatch):
    from concurrent.futures import ThreadPoolExecutor

    from cellvae.data import prepare, simulate_bmmc
    from cellvae.study.chapters.batch_effects import train_sample
    from cellvae.study.scoring.embed import pca
    from cellvae.study.scoring.prefetch import prefetch

    monkeypatch.setenv("CELLVAE_CACHE", str(tmp_path / "a"))
    a = prepare(simulate_bmmc(1000, 300, seed=1), n_top_genes=200, seed=0)
    pca(a, n_comps=10)
    a.obsm["X_rand"] = integ.random_embedding(a.n_obs, 5)
    test = (a.obs["split"] == "test").to_numpy()
    sample = train_sample(a)
    assert sample.sum() == test.sum() and (a.obs["split"][sample] == "train").all()
    jobs = [({"rand": "X_rand"}, {"pre_key": "X_pca", "mask": test}), ({"pca": "X_pca"}, {"mask": sample, "full": False})]
    serial = [integ.benchmark(a, k, **kw) for k, kw in jobs]
    monkeypatch.setenv("CELLVAE_CACHE", str(tmp_path / "b"))
    with ThreadPoolExecutor(2) as ex:
        prefetch(a, jobs, ex)
    assert len(list((tmp_path / "b" / "benchmark").iterdir())) == 2   # the pool filled the cache ...
    for (k, kw), ref in zip(jobs, serial):                               # ... with what serial gives
        pd.testing.assert_frame_equal(integ.benchmark(a, k, **kw), ref)
