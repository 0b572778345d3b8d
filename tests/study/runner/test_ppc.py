"""Posterior predictive checks: count statistics, errors that tell models apart, Gaussian replicates as counts."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
import torch

from cellvae.study.runner.ppc import (
    ERRORS,
    count_statistics,
    gaussian_to_counts,
    ppc_errors,
    ppc_table,
)


def test_count_statistics_on_a_known_matrix():
    x = sp.csr_matrix(np.array([[0, 2, 0], [0, 4, 3]], dtype=np.float32))
    s = count_statistics(x)
    np.testing.assert_allclose(s["zero_fraction"], [1.0, 0.0, 0.5])
    np.testing.assert_allclose(s["library"], [2, 7])
    assert np.isnan(s["gene_cv"][0]) and s["gene_cv"][1] == pytest.approx(1 / 3)


def test_checks_prefer_the_true_model_to_a_poisson_one():
    rng = np.random.default_rng(0)
    mu = rng.lognormal(0.5, 1.0, size=(1, 300)) * rng.lognormal(0, 0.3, size=(400, 1))
    theta = 0.8
    observed = rng.negative_binomial(theta, theta / (theta + mu)).astype(np.float32)
    true = rng.negative_binomial(theta, theta / (theta + mu), size=(3, *mu.shape)).astype(np.float32)
    poisson = rng.poisson(mu, size=(3, *mu.shape)).astype(np.float32)
    table = ppc_table(observed, {"true NB": true, "Poisson": poisson})
    assert list(table.columns) == list(ERRORS)
    assert table.loc["true NB", "zero fraction MAE"] < 0.5 * table.loc["Poisson", "zero fraction MAE"]
    assert table.loc["true NB", "gene CV log-ratio"] < 0.5 * table.loc["Poisson", "gene CV log-ratio"]
    same = ppc_errors(observed, observed[None])
    assert all(v == pytest.approx(0) for v in same.values())


def test_gaussian_replicates_map_back_to_counts():
    sf = np.array([0.5, 2.0])
    v = np.array([[[-1.0, np.log1p(3.0)], [0.0, np.log1p(1.5)]]])
    np.testing.assert_allclose(gaussian_to_counts(v, "processed", sf), [[[0, 2], [0, 3]]])
    np.testing.assert_allclose(gaussian_to_counts(v * 0 + 3.0, "preprocessed", sf), [[[2, 2], [6, 6]]])
    with pytest.raises(ValueError, match="unknown variant"):
        gaussian_to_counts(v, "scaled", sf)


def test_run_ppc_scores_held_out_cells_and_the_figure_is_labelled(sim):
    from cellvae.data import get_variant
    from cellvae.model import VAE, VAEConfig
    from cellvae.study.figures.ppc import ppc_bars
    from cellvae.study.runner.ppc import run_ppc

    torch.manual_seed(0)
    module = VAE(VAEConfig(n_input=sim.n_vars, n_latent=3, n_hidden=16, likelihood="nb"))
    test = (sim.obs["split"] == "test").to_numpy()
    errs = run_ppc(module, sim, "raw", test)
    assert list(errs) == list(ERRORS) and all(np.isfinite(v) for v in errs.values())
    assert errs == run_ppc(module, sim, "raw", test)  # seeded
    g = VAE(VAEConfig(n_input=sim.n_vars, n_latent=3, n_hidden=16, likelihood="gaussian"))
    assert np.isfinite(run_ppc(g, sim, "processed", test)["library size KS"])
    assert get_variant(sim, "raw").shape == sim.shape
    fig = ppc_bars(ppc_table(sim.layers["counts"][test], {"a": np.zeros((1, test.sum(), sim.n_vars))}))
    assert all(ax.get_xlabel() for ax in fig.axes) and fig.axes[0].get_ylabel() == "model"
