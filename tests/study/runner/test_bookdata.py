"""The book's data: the shipped starter through cellvae.data, and notes for files without a design."""

from __future__ import annotations

import pandas as pd
import pytest

from cellvae import datasets


def test_the_book_reads_the_shipped_starter_through_cellvae_data(monkeypatch):
    from cellvae.study.runner.bookdata import book_data

    monkeypatch.setenv("CELLVAE_DATA", str(datasets.starter_path()))
    a = book_data()
    assert a.shape == (600, 1000)  # min(5000, genes): all 1,000 genes of the starter
    assert "bmmc_cite_starter_gex.h5ad" in a.uns["source"] and "all 1,000 genes" in a.uns["source"]


def test_a_file_without_site_donor_or_second_batch_gets_notes(tmp_path, monkeypatch):
    from cellvae.datasets import bmmc_starter
    from cellvae.study.chapters.eda import design_sentence, design_table
    from cellvae.study.runner.bookdata import UNKNOWN, book_data

    raw = bmmc_starter()
    one = raw[raw.obs["batch"] == "s1d1"].copy()
    one.obs["batch"] = "lane1"  # no s<site>d<donor> name, so no site or donor can be derived
    path = tmp_path / "one_batch.h5ad"
    one.write_h5ad(path)
    monkeypatch.setenv("CELLVAE_DATA", str(path))
    adata = book_data()
    src = adata.uns["source"]
    assert "records no site or donor" in src and "a single batch" in src
    assert set(adata.obs["Site"]) == {UNKNOWN} == set(adata.obs["DonorNumber"])
    assert "records no site or donor" in design_sentence(design_table(adata))
    from cellvae.study.chapters.eda import design_counts

    assert design_counts(adata.obs).endswith("the file records no donor or site.")
    assert "9 donors processed at 4 sites, in 12 batches" in design_counts(pd.DataFrame({
        "DonorNumber": [f"d{i % 9}" for i in range(36)], "Site": [f"s{i % 4}" for i in range(36)],
        "batch": [f"b{i % 12}" for i in range(36)], "cell_type": ["t"] * 36}))
    monkeypatch.setenv("CELLVAE_DATA", str(tmp_path / "missing.h5ad"))
    full = tmp_path / "two.h5ad"
    raw.write_h5ad(full)
    monkeypatch.setenv("CELLVAE_DATA", str(full))
    assert "single batch" not in book_data().uns["source"]


def test_book_data_is_prepared_once_then_read_back_and_a_damaged_copy_is_rewritten(tmp_path, monkeypatch,
                                                                                    starter_path):
    from cellvae.study.runner import bookdata
    from cellvae.study.runner.cache import data_key

    monkeypatch.setenv("CELLVAE_CACHE", str(tmp_path))
    monkeypatch.setenv("CELLVAE_DATA", str(starter_path))
    made, prepare = [], bookdata._prepare_book
    monkeypatch.setattr(bookdata, "_prepare_book", lambda path: made.append(path) or prepare(path))
    a, b = bookdata.book_data(), bookdata.book_data()
    assert len(made) == 1 and data_key(a) == data_key(b) and a.uns["source"] == b.uns["source"]
    (copy,) = (tmp_path / "bookdata").glob("*.h5ad")
    copy.write_bytes(b"damaged")
    assert data_key(bookdata.book_data()) == data_key(a) and len(made) == 2
    monkeypatch.setattr(bookdata, "PREPARING_SOURCES", ("model",))  # other code: prepared again
    bookdata.book_data()
    assert len(made) == 3


def test_a_users_file_is_read_through_its_design(tmp_path, monkeypatch):
    """The starter laid out as a user's file: donors pooled in one lane, columns renamed, no site."""
    from cellvae.data import DataError
    from cellvae.study.chapters.eda import design_sentence, design_table
    from cellvae.study.runner.bookdata import book_data

    raw = datasets.bmmc_starter()
    raw.obs = pd.DataFrame({"sample_id": raw.obs["batch"].map({"s1d1": "donorA", "s1d2": "donorB"}).astype(str),
                            "celltype": raw.obs["cell_type"].astype(str)}, index=raw.obs_names)
    path = tmp_path / "pooled.h5ad"
    raw.write_h5ad(path)
    monkeypatch.setenv("CELLVAE_DATA", str(path))
    monkeypatch.setenv("CELLVAE_CACHE", str(tmp_path / "cache"))
    guessed = book_data()
    assert "batch: obs['sample_id'] (guessed from its name" in guessed.uns["source"]
    assert guessed.uns["design"]["batch_is"] == "lane" and "<" not in guessed.uns["source"]
    monkeypatch.setenv("CELLVAE_BATCH_IS", "pooled donors")
    a = book_data()  # the setting is part of the cache key: prepared again
    assert a.uns["design"]["batch_is"] == "pooled donors" and set(a.obs["batch"]) == {"donorA", "donorB"}
    assert (a.obs["DonorNumber"].astype(str) == a.obs["batch"].astype(str)).all()
    assert "donor biology" in design_sentence(design_table(a), batch_is="pooled donors")
    from cellvae.study.chapters.batch_tables import batch_labels, held_out_cells

    assert list(batch_labels(a)) == ["batch"]  # no site recorded; the donors only repeat the batches
    assert list(held_out_cells(a)[1]) == ["donor", "cell type"]
    from cellvae.study.runner.bookdata import starter_data

    assert list(batch_labels(starter_data())) == ["donor", "site", "batch"]
    assert "a batch effect is only a batch effect" in design_sentence(design_table(guessed), batch_is="lane")
    monkeypatch.setenv("CELLVAE_DONOR_KEY", "patient")
    with pytest.raises(DataError, match="CELLVAE_DONOR_KEY='patient' but obs has no such column"):
        book_data()


def test_nothing_unrecorded_is_shown_and_no_scope_splits_by_it():
    from cellvae.study.calls.controls import scopes
    from cellvae.study.chapters import eda, eda_glue
    from cellvae.study.runner.bookdata import UNKNOWN, starter_data

    a = starter_data()
    full = eda_glue.recorded_only(eda.design_table(a), eda.batch_table(a), a.obs)
    assert full[0] is not None and {"site", "donor"} <= set(full[1].columns)
    assert set(scopes(a)) == {"all batches", "site within donor", "donor within site"}
    a.obs["Site"] = pd.Categorical([UNKNOWN] * a.n_obs)  # a file without sites
    design, batches = eda_glue.recorded_only(eda.design_table(a), eda.batch_table(a), a.obs)
    assert design is None and "site" not in batches.columns and "donor" in batches.columns
    assert list(scopes(a)) == ["all batches"]


def test_a_simulated_file_given_as_cellvae_data_is_named_simulated_with_its_effects(tmp_path, monkeypatch):
    from cellvae.data import simulate_bmmc
    from cellvae.study.runner.bookdata import _prepare_book

    path = tmp_path / "sim_full.h5ad"
    simulate_bmmc(600, 300, site_effect=0.3, donor_effect=0.1, seed=4).write_h5ad(path)
    monkeypatch.setenv("CELLVAE_CACHE", str(tmp_path / "cache"))
    a = _prepare_book(str(path))
    assert a.uns["simulation"]["site_effect"] == 0.3
    src = a.uns["source"]
    assert src.startswith("the simulated file sim_full.h5ad (simulated BMMC-like data (600 cells x 300 genes, site "
                          "effect 0.3, donor effect 0.1, seed 4); 600 cells") and "the real file" not in src
