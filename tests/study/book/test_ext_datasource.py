"""The data-source Sphinx extension: a change of data or code empties the cache and rereads every page."""

from __future__ import annotations

from cellvae import datasets


def test_a_change_of_data_empties_the_execution_cache(tmp_path, monkeypatch):
    from cellvae.study.book.ext_datasource import data_identity, refresh

    cache = tmp_path / ".jupyter_cache"
    monkeypatch.delenv("CELLVAE_DATA", raising=False)
    assert data_identity().startswith("simulator") and "n_cells" in data_identity()
    assert refresh(cache, data_identity())  # first build: no stamp yet
    cache.mkdir()
    (cache / "entry").write_text("outputs of the simulator build")
    assert not refresh(cache, data_identity()) and (cache / "entry").exists()  # same data: kept
    monkeypatch.setenv("CELLVAE_DATA", str(datasets.starter_path()))
    assert data_identity().startswith(f"file {datasets.starter_path()}")
    assert refresh(cache, data_identity()) and not cache.exists()  # other data: emptied
    assert not refresh(cache, data_identity())
    from cellvae.study.runner import cache as run_cache

    cache.mkdir()
    monkeypatch.setattr(run_cache, "tree_digest", lambda sources: "edited")  # the package's code changed
    assert refresh(cache, data_identity()) and not cache.exists()  # other code: emptied too


def test_the_sphinx_hooks_reread_every_page_until_a_build_of_the_new_data_completes(tmp_path, monkeypatch):
    import pickle
    from types import SimpleNamespace

    from cellvae.study.book import ext_datasource as datasource

    env = SimpleNamespace(found_docs={"intro", "eda", "results"})  # what the hooks touch of Sphinx's env
    cache = tmp_path / "_build" / ".jupyter_cache"
    app = SimpleNamespace(env=env, outdir=str(tmp_path / "_build" / "html"))
    env.mystnb_config = SimpleNamespace(execution_cache_path=str(cache))
    monkeypatch.delenv("CELLVAE_DATA", raising=False)
    datasource._on_builder_inited(app)
    assert (tmp_path / "_build" / datasource.STAMP).read_text() == datasource.data_identity()
    assert datasource._outdated(app, env, set(), set(), set()) == ["eda", "intro", "results"]
    saved = pickle.dumps(env)  # Sphinx saves the environment after a complete read
    assert datasource._outdated(app, pickle.loads(saved), set(), set(), set()) == []  # nothing changed
    monkeypatch.setenv("CELLVAE_DATA", str(datasets.starter_path()))
    cache.mkdir(parents=True)
    datasource._on_builder_inited(app)
    assert not cache.exists()
    assert str(datasets.starter_path()) in (tmp_path / "_build" / datasource.STAMP).read_text()
    # that build is interrupted: the saved environment is still the simulator's, so the next
    # build re-reads every page although the stamp already names the new data
    assert datasource._outdated(app, pickle.loads(saved), set(), set(), set()) == ["eda", "intro", "results"]
    assert datasource.setup(SimpleNamespace(connect=lambda *a, **k: None))["parallel_read_safe"]


def test_a_file_the_book_cannot_use_stops_the_build_with_one_line(tmp_path, monkeypatch, capsys):
    import numpy as np
    import pytest

    from cellvae.datasets import bmmc_starter
    from cellvae.study.book.ext_datasource import check_data

    a = bmmc_starter()
    a.obs["batch"] = a.obs["batch"].astype(object)
    a.obs.iloc[:3, a.obs.columns.get_loc("batch")] = np.nan
    path = tmp_path / "bad.h5ad"
    a.write_h5ad(path)
    monkeypatch.setenv("CELLVAE_DATA", str(path))
    monkeypatch.setenv("CELLVAE_CACHE", str(tmp_path / "cache"))
    with pytest.raises(SystemExit) as e:
        check_data()
    assert e.value.code == 2
    assert capsys.readouterr().err == ("cellvae: error: obs['batch'] has no value (NaN or empty) for 3 cells of 600; "
                                       "fill them or drop those cells\n")
    assert not list((tmp_path / "cache").glob("bookdata/*.h5ad"))  # nothing prepared, nothing written
