"""Shared fixtures: small simulated data, and the real starter subset when present."""

from __future__ import annotations

from pathlib import Path

import pytest

STARTER = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "bmmc_cite_starter_gex.h5ad"


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path_factory, monkeypatch):
    """Every test writes its cache under a temp dir, never the user's."""
    monkeypatch.setenv("CELLVAE_CACHE", str(tmp_path_factory.getbasetemp() / "cache"))


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
    if not STARTER.exists():
        pytest.skip(f"starter subset not present at {STARTER}")
    return STARTER
