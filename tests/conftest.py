"""Shared fixtures: small simulated data, and the real starter subset shipped in the package."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path_factory, monkeypatch):
    """Every test writes its cache under a temp dir, never the user's, and trains serially.

    Runs are small here, so spawning a pool would cost more than it saves; the pool has its
    own test (tests/study/runner/test_pool.py).
    """
    monkeypatch.setenv("CELLVAE_CACHE", str(tmp_path_factory.getbasetemp() / "cache"))
    monkeypatch.setenv("CELLVAE_JOBS", "1")


@pytest.fixture(scope="session")
def sim_raw():
    from cellvae.data.simulate import simulate_bmmc

    return simulate_bmmc(1500, 400, seed=1)


@pytest.fixture(scope="session")
def sim(sim_raw):
    from cellvae.data import prepare

    return prepare(sim_raw, n_top_genes=200, seed=0)


@pytest.fixture
def starter_path():
    from cellvae.datasets import starter_path

    return starter_path("gex")  # sha256-checked; a missing or damaged copy fails, never skips
