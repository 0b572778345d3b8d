"""The real cells' batch call: the shuffled-label null's bound decides, and the sentence follows it."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from cellvae.study.calls import shuffled_null as null


def test_batch_sentence_flips_with_the_verdict():
    scores = pd.DataFrame({"Batch mixing": [0.5, 0.7], "Bio conservation": [0.6, 0.6]}, index=["nb", "cond"])
    v = {"pca_mixing": 0.3, "null_mean": 0.6, "null_sd": 0.01, "threshold": 0.575, "pca_flagged": True}
    assert "a batch effect is detected" in null.batch_sentence(scores, v, nb="nb", cond="cond")
    assert "below 0.575, the lower 95% prediction bound" in null.batch_sentence(scores, v, nb="nb", cond="cond")
    no = null.batch_sentence(scores, v | {"pca_flagged": False}, nb="nb", cond="cond")
    assert "no batch effect is detected" in no


def test_batch_check_flags_the_pca_below_the_null_bound(monkeypatch):
    import anndata as ad

    monkeypatch.setattr(null, "pca", lambda adata, **kw: None)
    monkeypatch.setattr(null, "benchmark", lambda adata, keys, **kw: pd.DataFrame({"Batch mixing": 0.85}, index=list(keys)))
    adata = ad.AnnData(np.zeros((4, 3)))
    monkeypatch.setattr(null, "shuffle_null", lambda adata, key: np.array([0.89, 0.90, 0.91, 0.90, 0.90]))
    _, v = null.batch_check(adata, {})
    assert v["pca_flagged"] and v["threshold"] == pytest.approx(0.9 - 2.132 * 0.00707 * np.sqrt(1.2), abs=1e-3)
    monkeypatch.setattr(null, "shuffle_null", lambda adata, key: np.array([0.80, 0.90, 1.00, 0.90, 0.90]))
    assert not null.batch_check(adata, {})[1]["pca_flagged"]  # a wider null: 0.85 is inside it
