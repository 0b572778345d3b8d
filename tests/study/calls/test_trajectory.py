"""An integration that scrambles a lineage's order is called out, one that keeps it is not."""

from __future__ import annotations

import anndata as ad
import numpy as np
import pandas as pd

from cellvae.study.calls.trajectory import (
    trajectory_calls,
    trajectory_replicates,
    trajectory_sentence,
)
from cellvae.study.scoring.integration import TIME_KEY


def _lineage(seed=0, n=200):
    rng = np.random.default_rng(seed)
    t = np.sort(rng.uniform(0.01, 1, n))
    a = ad.AnnData(np.zeros((n, 1), np.float32), obs=pd.DataFrame({TIME_KEY: t}, index=[f"c{i}" for i in range(n)]))
    for r in range(3):
        noise = np.random.default_rng(r).normal(scale=0.02, size=(n, 4))
        a.obsm[f"kept{r}"] = (np.c_[t, t ** 2, np.zeros((n, 2))] + noise).astype(np.float32)
        a.obsm[f"lost{r}"] = np.random.default_rng(10 + r).normal(size=(n, 4)).astype(np.float32)
    return a


def test_a_scrambled_integration_loses_order_and_a_faithful_one_does_not(tmp_path, monkeypatch):
    monkeypatch.setenv("CELLVAE_CACHE", str(tmp_path))
    a = _lineage()
    reps = {"PCA": [(f"kept{r}", "batch", None) for r in range(3)],
            "Harmony": [(f"lost{r}", "batch", None) for r in range(3)],
            "our NB": [(f"kept{r}", "batch", None) for r in range(3)],
            "our NB +batch": [(f"kept{(r + 1) % 3}", "batch", None) for r in range(3)]}
    tr = trajectory_replicates(a, reps, mask=np.ones(a.n_obs, bool))
    assert len(tr) == 12
    calls = trajectory_calls(tr).set_index("integration")
    assert calls.loc["Harmony", "call"] == "loses order" and calls.loc["Harmony", "baseline"] == "PCA"
    assert calls.loc["our NB +batch", "call"] == "no loss shown"
    s = trajectory_sentence(calls.reset_index())
    assert "over 3 replicates" in s and "**it loses the lineages' order**" in s and "no loss shown, inconclusive" in s
    # no pseudotime: nothing scored, and the sentence says why
    del a.obs[TIME_KEY]
    assert trajectory_replicates(a, reps, mask=np.ones(a.n_obs, bool)).empty
    assert "records no pseudotime" in trajectory_sentence(trajectory_calls(pd.DataFrame(
        columns=["embedding", "replicate", "trajectory"])))


def test_the_pairs_name_the_batch_tables_rows():
    from cellvae.study.calls.trajectory import PAIRS
    from cellvae.study.chapters.batch_effects import ROWS

    assert {n for pair in PAIRS for n in pair} <= set(ROWS)
