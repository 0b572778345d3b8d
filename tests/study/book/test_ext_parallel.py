"""The parallel-read Sphinx extension: chapters read in parallel only after a complete grid."""

from __future__ import annotations

from cellvae import datasets


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


def test_rewording_text_keeps_the_grid_complete_and_a_logic_edit_does_not(tmp_path, monkeypatch):
    import shutil

    from cellvae.study.book import ext_parallel as parallelbook
    from cellvae.study.runner import cache

    copy = tmp_path / "cellvae"
    shutil.copytree(cache.PACKAGE, copy, ignore=shutil.ignore_patterns("__pycache__", "*.h5ad"))
    monkeypatch.setattr(cache, "PACKAGE", copy)
    monkeypatch.delenv("CELLVAE_DATA", raising=False)
    before = parallelbook.grid_identity()
    f = copy / "study" / "calls" / "selection.py"
    text = f.read_text()
    assert "so the two are distinguishable" in text
    f.write_text(text.replace("so the two are distinguishable", "so the two are told apart"))  # a sentence
    assert parallelbook.grid_identity() == before
    g = copy / "study" / "runner" / "grid.py"
    g.write_text(g.read_text().replace("SEEDS = (0, 1, 2)", "SEEDS = (0, 1, 2, 3)"))  # another run
    assert parallelbook.grid_identity() != before
