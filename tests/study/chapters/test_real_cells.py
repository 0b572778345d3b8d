"""The real-cells chapter's logic: specs, facts, the batch check and its sentence."""

from __future__ import annotations

from dataclasses import replace

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


def test_pick_names_a_missing_run():
    with pytest.raises(KeyError, match="M1 nb/raw \\+batch"):
        real_cells.pick([], "nb/raw", conditional=True)
