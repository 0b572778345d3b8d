"""The scale plan: scores, UMAPs and nulls on at most MAX_SCORED_CELLS held-out cells."""

import anndata as ad
import numpy as np
import pandas as pd
import pytest

from cellvae.study.runner import scored


def _data(n: int, n_test: int) -> ad.AnnData:
    split = np.array(["train"] * n, dtype=object)
    split[np.random.default_rng(1).choice(n, n_test, replace=False)] = "test"
    return ad.AnnData(np.zeros((n, 2)), obs=pd.DataFrame({"split": split}, index=[f"c{i}" for i in range(n)]))


def test_below_the_bound_every_test_cell_is_scored_and_every_cell_drawn():
    a = _data(50, 10)
    test = (a.obs["split"] == "test").to_numpy()
    assert not scored.subsampled(a)
    assert np.array_equal(scored.scored_cells(a), test)
    assert scored.drawn(a) is a and scored.drawn_mask(a) is None
    assert scored.drawn_text(a) == "all cells"
    assert scored.scored_text(a) == "Every score is computed on all 10 held-out test cells, which no model saw in training."


def test_above_the_bound_a_seeded_subsample_of_test_cells(monkeypatch):
    monkeypatch.setattr(scored, "MAX_SCORED_CELLS", 8)
    a = _data(50, 20)
    test = (a.obs["split"] == "test").to_numpy()
    m = scored.scored_cells(a)
    assert scored.subsampled(a) and m.sum() == 8 and not (m & ~test).any()  # held-out cells only
    assert np.array_equal(m, scored.scored_cells(a))  # the same cells on every page
    assert np.array_equal(scored.drawn_mask(a), m)
    assert scored.drawn(a).n_obs == 8
    words = "a seeded random 8 of the 20 held-out cells (of 50)"
    assert scored.drawn_text(a) == words
    assert scored.scored_text(a).startswith(f"Every score is computed on {words}, which no model saw in training")
    assert "training uses every training cell" in scored.scored_text(a)


@pytest.mark.parametrize("n_test", [5, 8])
def test_many_cells_few_held_out_draws_the_held_out_cells(monkeypatch, n_test):
    monkeypatch.setattr(scored, "MAX_SCORED_CELLS", 8)
    a = _data(50, n_test)  # more cells than the bound, held-out cells within it
    assert not scored.subsampled(a)
    assert np.array_equal(scored.drawn_mask(a), (a.obs["split"] == "test").to_numpy())
    assert scored.drawn_text(a) == f"the {n_test} held-out cells"


def test_the_batch_chapter_scores_and_draws_the_bounded_cells(monkeypatch):
    from cellvae.study.chapters.batch_effects import train_sample
    from cellvae.study.chapters.batch_tables import held_out_cells

    monkeypatch.setattr(scored, "MAX_SCORED_CELLS", 8)
    a = _data(200, 40)
    a.obs["cell_type"] = "T"
    test, labels = held_out_cells(a)
    assert test.n_obs == 8 and list(test.obs_names) == list(a.obs_names[scored.scored_cells(a)])
    assert train_sample(a).sum() == 8  # the training-cell comparison matches the scored cells' size
