"""The shipped real starter: right shape, verified by sha256, licence and source beside it."""

from __future__ import annotations

import shutil
import subprocess
import sys

import numpy as np
import pytest

from cellvae import data, datasets
from cellvae.data import DataError


def test_bmmc_starter_is_the_real_600_cells():
    gex = datasets.bmmc_starter()
    assert gex.shape == (600, 1000)
    assert set(gex.obs["batch"].astype(str)) == {"s1d1", "s1d2"}
    counts = gex.layers["counts"]
    vals = counts.data if hasattr(counts, "data") else np.asarray(counts)
    assert np.all(vals == np.round(vals)) and vals.min() >= 0
    adt = datasets.bmmc_starter(modality="adt")
    assert adt.shape == (600, 134) and list(adt.obs_names) == list(gex.obs_names)


def test_the_starter_goes_through_the_loader():
    a = data.load_bmmc(datasets.starter_path(), n_top_genes=500)
    assert a.n_vars == 500 and {"Site", "DonorNumber"} <= set(a.obs)


def test_licence_and_source_ship_with_the_files():
    folder = datasets.starter_path().parent
    assert "MIT License" in (folder / "LICENSE").read_text()
    readme = (folder / "README.md").read_text()
    assert "GSE194122" in readme
    for name, sha in datasets.STARTER_FILES.values():
        assert name in readme and sha in readme


def test_a_damaged_copy_is_refused_in_one_line(tmp_path, monkeypatch):
    for name, _ in datasets.STARTER_FILES.values():
        shutil.copy(datasets._DATA / name, tmp_path / name)
    monkeypatch.setattr(datasets, "_DATA", tmp_path)
    datasets.starter_path("gex")  # an intact copy passes
    damaged = tmp_path / datasets.STARTER_FILES["gex"][0]
    raw = bytearray(damaged.read_bytes())
    raw[len(raw) // 2] ^= 0xFF
    damaged.write_bytes(bytes(raw))
    with pytest.raises(DataError, match="fails its sha256 check") as err:
        datasets.bmmc_starter()
    assert "\n" not in str(err.value)
    damaged.unlink()
    with pytest.raises(DataError, match="missing; reinstall"):
        datasets.bmmc_starter()
    with pytest.raises(ValueError, match="modality must be one of"):
        datasets.bmmc_starter(modality="rna")


def test_readme_one_liner_prints_600_cells():
    code = "from cellvae.datasets import bmmc_starter; print(bmmc_starter())"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert "n_obs × n_vars = 600 × 1000" in out


def test_the_book_reads_the_shipped_starter_through_cellvae_data(monkeypatch):
    from cellvae.study.runner.bookdata import book_data

    monkeypatch.setenv("CELLVAE_DATA", str(datasets.starter_path()))
    a = book_data()
    assert a.shape == (600, 1000)  # min(5000, genes): all 1,000 genes of the starter
    assert "bmmc_cite_starter_gex.h5ad" in a.uns["source"] and "all 1,000 genes" in a.uns["source"]


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


def test_the_book_reads_its_chapters_in_parallel_only_after_a_complete_grid(tmp_path, monkeypatch):
    from types import SimpleNamespace

    from cellvae.study.book import ext_parallel as parallelbook

    monkeypatch.setenv("CELLVAE_CACHE", str(tmp_path / "runs"))
    monkeypatch.delenv("CELLVAE_DATA", raising=False)

    def app(jobs_env):
        monkeypatch.setenv("CELLVAE_JOBS", jobs_env)
        exts = {n: SimpleNamespace(parallel_read_safe=None) for n in (*parallelbook.CHECKED_SAFE, "unread")}
        a = SimpleNamespace(parallel=1, extensions=exts)
        parallelbook._parallel(a, None)
        return a

    assert app("2").parallel == 1  # no complete grid yet: chapters may train, so one at a time
    parallelbook.mark_grid_complete()
    assert parallelbook.grid_complete()
    two = app("2")
    assert two.parallel == 2
    assert [two.extensions[n].parallel_read_safe for n in parallelbook.CHECKED_SAFE] == [True, True]
    assert two.extensions["unread"].parallel_read_safe is None  # only the extensions that were read
    one = app("1")
    assert one.parallel == 1 and one.extensions["sphinx_multitoc_numbering"].parallel_read_safe is None
    monkeypatch.setenv("CELLVAE_DATA", str(datasets.starter_path()))  # other data: that grid does not count
    assert not parallelbook.grid_complete() and app("2").parallel == 1
    monkeypatch.delenv("CELLVAE_DATA")
    (tmp_path / "runs" / parallelbook.STAMP).write_text("simulator ... source=0123")  # other code
    assert not parallelbook.grid_complete()
    # the execution cache's tables exist before Sphinx forks, so two pages cannot race to make them
    cache = tmp_path / "_build" / ".jupyter_cache"
    nb = SimpleNamespace(execution_mode="cache", execution_cache_path=str(cache))
    parallelbook._create_cache(SimpleNamespace(parallel=1, env=SimpleNamespace(mystnb_config=nb),
                                               outdir=str(tmp_path / "_build" / "html")))
    assert not cache.exists()  # serial: nothing to do
    parallelbook._create_cache(SimpleNamespace(parallel=2, env=SimpleNamespace(mystnb_config=nb),
                                               outdir=str(tmp_path / "_build" / "html")))
    assert cache.is_dir() and any(cache.iterdir())
