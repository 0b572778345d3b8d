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
    reps = {"PCA": [(f"kept{r}", "batch", r) for r in range(3)],  # PCA on subsamples, as the batch table scores it
            "Harmony": [(f"lost{r}", "batch", None) for r in range(3)],
            "our NB": [(f"kept{r}", "batch", None) for r in range(3)],
            "our NB +batch": [(f"kept{(r + 1) % 3}", "batch", None) for r in range(3)]}
    tr = trajectory_replicates(a, reps, mask=np.ones(a.n_obs, bool))
    assert len(tr) == 6 and set(tr["integration"]) == {"Harmony", "our NB +batch"}
    calls = trajectory_calls(tr).set_index("integration")
    assert calls.loc["Harmony", "call"] == "loses order" and calls.loc["Harmony", "baseline"] == "PCA"
    assert calls.loc["our NB +batch", "call"] == "no loss shown"
    s = trajectory_sentence(calls.reset_index())
    assert "over 3 replicates" in s and "**it loses the lineages' order**" in s and "no loss shown, inconclusive" in s
    assert "does not show in an integration's total" in s
    kept = trajectory_sentence(calls.drop(index="Harmony").reset_index())
    assert "does not show" not in kept and "Table 4c)." in kept
    # no pseudotime: nothing scored, and the sentence says why
    del a.obs[TIME_KEY]
    assert trajectory_replicates(a, reps, mask=np.ones(a.n_obs, bool)).empty
    assert "records no pseudotime" in trajectory_sentence(trajectory_calls(trajectory_replicates(
        a, reps, mask=np.ones(a.n_obs, bool))))


def test_a_pair_on_the_same_cells_scores_its_partner_on_the_subsample_and_equal_pairs_are_not_testable():
    tr = pd.DataFrame({"integration": "Harmony", "baseline": "PCA", "replicate": [0, 1, 2],
                       "trajectory": [0.5, 0.6, 0.7], "baseline trajectory": [0.6, 0.7, 0.8]})
    c = trajectory_calls(tr).iloc[0]
    assert c["call"] == "not testable" and np.isnan(c["p"])
    assert "not testable (the paired differences do not vary)" in trajectory_sentence(trajectory_calls(tr))
    assert "p = nan" not in trajectory_sentence(trajectory_calls(tr))


def test_the_pairs_name_the_batch_tables_rows():
    from cellvae.study.calls.trajectory import PAIRS
    from cellvae.study.chapters.batch_effects import ROWS

    assert {n for pair in PAIRS for n in pair} <= set(ROWS)
