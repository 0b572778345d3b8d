"""The real-cells chapter's logic: specs, facts, the batch check and its sentence."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from cellvae.study.chapters import real_cells
from cellvae.study.runner.grid import ARCHITECTURES


def test_seed_specs_vary_only_the_seed():
    base = next(s for s in real_cells.real_specs()
                if s.arch == real_cells.REAL_ARCH and s.family == "nb/raw" and not s.conditional)
    seeds = real_cells.seed_specs()
    assert [s.train.seed for s in seeds] == [1, 2]
    assert all(replace(s, train=base.train) == base for s in seeds)


def test_real_specs_fix_the_architecture_and_budget():
    specs = real_cells.real_specs()
    assert len(specs) == 2 * len(ARCHITECTURES) + 2
    assert all(s.train == real_cells.STARTER_TRAIN for s in specs)
    extra = [s for s in specs if s.conditional or s.family == "zinb/raw"]
    assert [(s.arch, s.family, s.conditional) for s in extra] == [
        (real_cells.REAL_ARCH, "nb/raw", True), (real_cells.REAL_ARCH, "zinb/raw", False)]


def test_starter_facts_are_the_real_cells():
    adata = real_cells.starter_data()
    f = real_cells.starter_facts(adata)
    assert f["n_cells"] == "600" and f["n_batches"] == 2 and f["top_gene"] == "HBB"
    assert "starter" in adata.uns["source"]
    assert f["n_test"] == (adata.obs["split"] == "test").sum()
    assert (f["donors"], f["sites"]) == ("two donors", "one site") and f["batch_is"].endswith("a donor effect")


def test_batch_sentence_flips_with_the_verdict():
    scores = pd.DataFrame({"batch mixing": [0.5, 0.7], "bio conservation": [0.6, 0.6]}, index=["nb", "cond"])
    v = {"pca_mixing": 0.3, "null_mean": 0.6, "null_sd": 0.01, "threshold": 0.575, "pca_flagged": True}
    assert "a batch effect is detected" in real_cells.batch_sentence(scores, v, nb="nb", cond="cond")
    assert "below 0.575, the lower 95% prediction bound" in real_cells.batch_sentence(scores, v, nb="nb", cond="cond")
    no = real_cells.batch_sentence(scores, v | {"pca_flagged": False}, nb="nb", cond="cond")
    assert "no batch effect is detected" in no


def test_pick_names_a_missing_run():
    with pytest.raises(KeyError, match="M1 nb/raw \\+batch"):
        real_cells.pick([], "nb/raw", conditional=True)


def test_batch_check_flags_the_pca_below_the_null_bound(monkeypatch):
    import anndata as ad

    monkeypatch.setattr(real_cells, "pca", lambda adata, **kw: None)
    monkeypatch.setattr(real_cells, "cached_scib_scores", lambda adata, key: {"batch mixing": 0.85})
    adata = ad.AnnData(np.zeros((4, 3)))
    monkeypatch.setattr(real_cells, "shuffled_null", lambda adata, key: np.array([0.89, 0.90, 0.91, 0.90, 0.90]))
    _, v = real_cells.batch_check(adata, {})
    assert v["pca_flagged"] and v["threshold"] == pytest.approx(0.9 - 2.132 * 0.00707 * np.sqrt(1.2), abs=1e-3)
    monkeypatch.setattr(real_cells, "shuffled_null", lambda adata, key: np.array([0.80, 0.90, 1.00, 0.90, 0.90]))
    assert not real_cells.batch_check(adata, {})[1]["pca_flagged"]  # a wider null: 0.85 is inside it
