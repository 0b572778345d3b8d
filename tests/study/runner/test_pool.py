"""The local process pool: equal to serial runs, started only for missing runs, sized by CELLVAE_JOBS."""

from __future__ import annotations

import os

import numpy as np
import pytest

from cellvae.study.runner import grid
from cellvae.study.runner.cache import RunCache
from cellvae.study.runner.runs import run_all

from tinyruns import SPECS


@pytest.mark.slow
def test_local_pool_equals_serial_and_only_starts_for_missing_runs(sim, tmp_path, monkeypatch):
    from cellvae.study.runner import pool

    serial = run_all(sim, SPECS[:2], cache=RunCache(tmp_path / "serial"), progress=False, jobs=1)
    pools = []
    real_pool = pool.local_pool

    def spy(n):
        pools.append(n)
        return real_pool(n)

    monkeypatch.setattr("cellvae.study.runner.runs.local_pool", spy)
    par = run_all(sim, SPECS[:2], cache=RunCache(tmp_path / "pool"), progress=False, jobs=2)
    assert pools == [2] and not any(r.cached for r in par)
    for a, b in zip(serial, par):
        assert a.metrics["torch_threads"] == b.metrics["torch_threads"] == grid.RUN_THREADS
        np.testing.assert_array_equal(b.latent, a.latent)
        assert b.metrics["test_iwae"] == a.metrics["test_iwae"]
    again = run_all(sim, SPECS[:2] + SPECS[2:3], cache=RunCache(tmp_path / "pool"), progress=False, jobs=2)
    assert pools[-1] == 1 and [r.cached for r in again] == [True, True, False]  # one missing: no pool


def test_default_jobs_reads_the_environment(monkeypatch):
    from cellvae.study.runner.pool import default_jobs

    monkeypatch.setenv("CELLVAE_JOBS", "3")
    assert default_jobs() == 3
    monkeypatch.delenv("CELLVAE_JOBS")
    assert default_jobs() == max(1, os.cpu_count() or 1)
    for bad in ("0", "two", "-1"):
        monkeypatch.setenv("CELLVAE_JOBS", bad)
        with pytest.raises(ValueError, match="CELLVAE_JOBS must be a positive integer"):
            default_jobs()
