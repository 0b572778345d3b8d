"""The grid command: serial and Dask runs agree, jobs are checked, and it reports progress."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from cellvae.study.book.cli import executor_for
from cellvae.study.runner import grid
from cellvae.study.runner.cache import RunCache
from cellvae.study.runner.runs import run_all

from tinyruns import SPECS


@pytest.mark.slow
def test_dask_local_cluster_equals_serial(sim, tmp_path, capsys):
    pytest.importorskip("distributed")
    import torch

    threads = torch.get_num_threads()
    serial = run_all(sim, SPECS, cache=RunCache(tmp_path / "serial"), progress=False)
    assert torch.get_num_threads() == threads  # each run pins its threads and puts them back
    environ = dict(os.environ)
    with executor_for(workers=2) as ex:
        assert ex is not None
        par = run_all(sim, SPECS, cache=RunCache(tmp_path / "dask"), executor=ex, progress=False,
                      verbose=True)
    assert "2 Dask worker(s)" in capsys.readouterr().out
    assert dict(os.environ) == environ  # Dask's OMP_NUM_THREADS=1 does not outlive the cluster
    assert [r.spec for r in par] == SPECS and not any(r.cached for r in par)
    assert len(list((tmp_path / "dask" / "data").glob("*.h5ad"))) == 1  # data shipped by path, once
    for a, b in zip(serial, par):
        assert a.metrics["status"] == b.metrics["status"] == "ok"
        assert a.metrics["epochs"] == b.metrics["epochs"] and b.metrics["torch_threads"] == 1
        np.testing.assert_array_equal(b.latent, a.latent)
        np.testing.assert_array_equal(b.iwae_cells, a.iwae_cells)
        assert b.metrics["test_iwae"] == a.metrics["test_iwae"]
    again = run_all(sim, SPECS, cache=RunCache(tmp_path / "dask"), progress=False)
    assert all(r.cached for r in again)  # the workers' results landed in the shared cache


def test_grid_rejects_nonsense_jobs(capsys):
    from cellvae.study.book import cli

    with pytest.raises(SystemExit):
        cli.main(["--jobs", "0"])
    assert "--jobs must be at least 1" in capsys.readouterr().err


def test_executor_for_serial_is_none():
    with executor_for(workers=0) as ex:
        assert ex is None


def test_grid_command_trains_then_serves_from_cache(sim, monkeypatch, capsys):
    from cellvae.study.book import cli
    from cellvae.study.runner import bookdata

    sim = sim.copy()
    sim.uns["source"] = "the test simulation"
    monkeypatch.setattr(bookdata, "book_data", lambda: sim)
    monkeypatch.setattr(grid, "report_specs", lambda: SPECS)
    monkeypatch.setattr(grid, "BETAS", (1.0, 4.0))
    from cellvae.study.chapters import plans

    # the starter's round stays, on the real starter, with tiny runs (its own 400-epoch runs took minutes)
    monkeypatch.setattr(plans, "real_specs", lambda: SPECS[:2])
    monkeypatch.setattr(plans, "seed_specs", lambda: SPECS[2:3])
    assert cli.main(["--no-controls"]) == 0
    out = capsys.readouterr()
    assert "cellvae-grid: the test simulation" in out.out
    assert "held-out ELBO" in out.out + out.err and "runs ready" in out.out
    assert "runs to train; projected" in out.out and "left" in out.out + out.err  # the ETA, serially up front
    assert cli.main(["--no-controls"]) == 0  # second time: every run from the cache
    assert "cached" in capsys.readouterr().out
    from cellvae.study.book import ext_parallel as parallelbook

    assert not parallelbook.grid_complete()  # the controls were skipped: the book still computes them


def test_a_complete_grid_is_not_checked_again_unless_forced(tmp_path, monkeypatch, capsys):
    from cellvae.study.book import cli
    from cellvae.study.book import ext_parallel as parallelbook
    from cellvae.study.runner import bookdata

    monkeypatch.setenv("CELLVAE_CACHE", str(tmp_path))
    monkeypatch.delenv("CELLVAE_DATA", raising=False)

    def no_data():
        raise RuntimeError("the grid read the data")

    monkeypatch.setattr(bookdata, "book_data", no_data)
    parallelbook.mark_grid_complete()
    assert cli.main([]) == 0 and "every run and score is cached" in capsys.readouterr().out
    with pytest.raises(RuntimeError, match="read the data"):
        cli.main(["--force"])  # checks every cache: it reads the data first
    (tmp_path / parallelbook.STAMP).write_text("other code")
    with pytest.raises(RuntimeError, match="read the data"):
        cli.main([])


ROOT = Path(__file__).resolve().parents[3]


def _first_output_matching(cmd, env, needle: str, *, limit_s: float) -> tuple[float | None, str]:
    """Seconds until ``needle`` appears in the command's merged output (None by ``limit_s``), and the output."""
    proc = subprocess.Popen(cmd, env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    seen, start = bytearray(), time.monotonic()

    def read():
        while chunk := os.read(proc.stdout.fileno(), 4096):  # tqdm ends lines with \r, not \n
            seen.extend(chunk)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    found = None
    try:
        while time.monotonic() - start < limit_s and proc.poll() is None:
            if needle.encode() in seen:
                found = time.monotonic() - start
                break
            time.sleep(0.2)
    finally:
        proc.kill()
        proc.wait()
        reader.join(timeout=10)  # EOF once the process is gone
        proc.stdout.close()
    return found, seen.decode(errors="replace")


def test_make_book_shows_progress_over_runs_within_a_minute(tmp_path):
    dry = subprocess.run(["make", "-n", "book"], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    lines = dry.splitlines()
    grid_at = next(i for i, line in enumerate(lines) if "cellvae-grid" in line)
    build_at = next(i for i, line in enumerate(lines) if "jupyter-book build book" in line)
    assert grid_at < build_at  # make book trains the grid, with its bar, before the build
    command = Path(sys.executable).with_name("cellvae-grid")
    assert command.exists(), f"{command} is not installed"
    env = {**os.environ, "CELLVAE_CACHE": str(tmp_path / "cache")}
    env.pop("CELLVAE_DATA", None)
    # a cold cache, as a newcomer has it: the bar over runs ("runs: ... /N") must show within 60 s
    seconds, output = _first_output_matching([str(command)], env, "runs:", limit_s=60)
    assert seconds is not None, f"cellvae-grid showed no progress bar over runs within 60 s:\n{output[-2000:]}"


def test_longest_first_starts_log_data_gaussians_then_wide_models():
    from cellvae.study.book import cli

    specs = grid.report_specs()
    order = cli.longest_first(specs)
    assert order[0].family == "gaussian/processed" and order[0].model.n_hidden == 1024
    rest = [s.model.n_hidden for s in order if s.family != "gaussian/processed"]
    assert rest == sorted(rest, reverse=True) and sorted(map(id, order)) == sorted(map(id, specs))


@pytest.mark.slow
def test_dry_run_lists_every_round_with_a_projection_and_trains_nothing(sim, monkeypatch, capsys, tmp_path):
    from cellvae.study.book import cli

    monkeypatch.setenv("CELLVAE_CACHE", str(tmp_path / "cache"))
    data = sim.copy()
    data.uns["source"] = "a small simulation"
    monkeypatch.setattr("cellvae.study.runner.bookdata.book_data", lambda: data)
    monkeypatch.setattr("cellvae.study.calls.plan.DATA", {"book": lambda: data,
                                                            "starter": lambda: data})
    assert cli.main(["--dry-run", "--jobs", "2"]) == 0
    out = capsys.readouterr().out
    assert f"--dry-run on {sim.n_obs:,} cells" in out and "2 process(es)" in out
    from cellvae.study.calls.plan import round_specs
    from cellvae.study.chapters.plans import PLANS

    first = round_specs(PLANS, ("book", False), data, None)
    assert len(first) > len(grid.report_specs())  # the main grid and its controls (raw Gaussians ...)
    assert f"book data, the main grid: {len(first)} to train, 0 cached" in out
    assert "M5 standing in" in out and "calibrated nulls' VAEs" in out and "SCVI" in out
    assert "projected wall time here:" in out
    assert not list((tmp_path / "cache").glob("runs/*.npz"))  # nothing trained
