"""The book's data: the shipped starter through cellvae.data, and notes for files without a design."""

from __future__ import annotations

import pandas as pd

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
