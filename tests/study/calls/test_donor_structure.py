"""Donor structure: composition with intervals, the genes within types, and what integration removes."""

from __future__ import annotations

from types import SimpleNamespace

import anndata as ad
import numpy as np
import pandas as pd
import scipy.sparse as sp

from cellvae.study.calls import donor_structure as ds


def _pooled(seed=0):
    """Two donors: A rich in CD8 T cells, and in T cells A expresses gene g3 eightfold."""
    rng = np.random.default_rng(seed)
    obs = pd.DataFrame({"DonorNumber": ["A"] * 200 + ["B"] * 200,
                        "cell_type": ["CD8 T"] * 70 + ["Mono"] * 110 + ["B"] * 20
                        + ["CD8 T"] * 20 + ["Mono"] * 150 + ["B"] * 30})
    mu = np.full((400, 6), 5.0)
    mu[(obs["DonorNumber"] == "A").to_numpy() & (obs["cell_type"] == "CD8 T").to_numpy(), 3] = 40.0
    a = ad.AnnData(sp.csr_matrix(rng.poisson(mu).astype(np.float32)), obs=obs)
    a.layers["counts"] = a.X
    a.var_names = [f"g{i}" for i in range(6)]
    a.obs_names = [f"c{i}" for i in range(400)]
    return a


def test_composition_names_the_type_that_differs_with_intervals():
    comp = ds.composition_intervals(_pooled().obs)
    top = comp.iloc[0]
    assert (top["cell type"], top["donor"]) == ("CD8 T", "A") and top["share"] == 0.35
    assert top["low"] < 0.35 < top["high"] and comp.iloc[1]["share"] == 0.1  # B's CD8 T share
    assert np.isclose(comp.groupby("donor")["share"].sum(), 1).all()


def test_expression_drivers_find_the_gene_and_need_enough_cells():
    a = _pooled()
    dr = ds.expression_drivers(a)
    assert dr.iloc[0][["cell type", "gene", "highest in"]].tolist() == ["CD8 T", "g3", "A"]
    assert dr.iloc[0]["log2 range"] > 1.5
    assert "CD8 T" not in set(ds.expression_drivers(a, min_cells=30)["cell type"])  # B has only 20
    assert ds.expression_drivers(a, min_cells=500).empty


def test_structure_and_removal_sentences_flip_with_their_inputs():
    a = _pooled()
    comp, dr = ds.composition_intervals(a.obs), ds.expression_drivers(a)
    s = ds.structure_sentence(comp, dr, pooled=True)
    assert "CD8 T make up 35%" in s and "g3 in CD8 T" in s and "does not recommend" in s
    assert "does not recommend" not in ds.structure_sentence(comp, dr, pooled=False)
    assert "not compared" in ds.structure_sentence(comp, dr.iloc[:0], pooled=True)
    v = pd.DataFrame({"mix": [0.80, 0.98, 0.81], "mixing low": [0.79, 0.97, 0.79], "mixing high": [0.81, 0.99, 0.83]},
                     index=["PCA", "Harmony", "our NB +batch"])
    r = ds.removal_sentence(v, mixing="mix")
    assert "Harmony mix the donors more than PCA" in r and "our NB +batch mix" not in r
    v.loc["Harmony", ["mix", "mixing low"]] = [0.8, 0.79]
    assert "No integration mixes the donors clearly more" in ds.removal_sentence(v, mixing="mix")


def test_the_batch_page_shows_donor_structure_only_where_batches_are_donors():
    from cellvae.study.chapters.batch_text import donor_structure
    from cellvae.study.scoring.integration import MIXING

    a = _pooled()
    v = pd.DataFrame({MIXING: [0.8, 0.98], "mixing low": [0.79, 0.97], "mixing high": [0.81, 0.99]},
                     index=["PCA", "Harmony"])
    ev = SimpleNamespace(verdicts=v)
    a.uns["design"] = {"batch_is": "pooled donors"}
    text, table = donor_structure(a, ev)
    assert text.startswith("**Donor structure.**") and "Harmony mix the donors" in text and len(table) == 6
    a.uns["design"] = {"batch_is": "lane"}
    text, table = donor_structure(a, ev)
    assert table is None and "read as lane" in text
    a.uns["simulation"] = {}
    assert "checks the method" in donor_structure(a, ev)[0]


def test_small_groups_are_named_and_an_empty_warning_when_none():
    from cellvae.study.chapters.batch_text import small_groups

    obs = pd.DataFrame({"cell_type": ["a"] * 30 + ["b"] * 14, "batch": ["x"] * 25 + ["y"] * 19})
    s = small_groups(obs)
    assert "Fewer than 20 scored cells: 1 cell type of 2: b (14); 1 batch of 2: y (19)." in s
    many = pd.DataFrame({"cell_type": [f"t{i}" for i in range(8)], "batch": ["x"] * 8})
    assert "8 cell types of 8: t0 (1), t1 (1), t2 (1), t3 (1), t4 (1) and 3 more; 1 batch of 1: x (8)" in small_groups(many)
    assert small_groups(obs, min_cells=10) == ""
    # b, in one batch only, is the isolated label, and 14 cells are too few: the score is left out
    assert "the one cell type found in the fewest batches, b, holds 14 cells, so it is left out of Table 4b" in s
    kept = pd.DataFrame({"cell_type": ["a"] * 30 + ["b"] * 25 + ["c"] * 10,
                         "batch": ["x", "y"] * 15 + ["y"] * 25 + ["x", "y"] * 5})
    assert "1 cell type of 3: c (10)" in small_groups(kept) and "isolated-label score is kept" in small_groups(kept)
