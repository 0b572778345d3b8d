"""Posterior predictive draws and checks: right distributions, and the checks tell models apart."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
import torch
from scipy import stats

from cellvae import CellVAE
from cellvae.model.distributions import sample_nb, sample_zinb
from cellvae.study.runner.ppc import (
    ERRORS,
    count_statistics,
    gaussian_to_counts,
    ppc_errors,
    ppc_table,
)


def test_nb_and_zinb_draws_have_the_right_moments():
    torch.manual_seed(0)
    mu, theta = torch.full((200_000,), 4.0), torch.tensor(1.5)
    x = sample_nb(mu, theta).numpy()
    assert np.all(x == np.round(x)) and x.min() >= 0
    assert abs(x.mean() - 4.0) < 0.05 and abs(x.var() / (4.0 + 16.0 / 1.5) - 1) < 0.03
    z = sample_zinb(mu, theta, torch.tensor(0.0)).numpy()  # pi = 0.5
    nb0 = stats.nbinom.pmf(0, 1.5, 1.5 / 5.5)
    assert abs((z == 0).mean() - (0.5 + 0.5 * nb0)) < 0.005


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


@pytest.mark.parametrize("lik", ["nb", "zinb"])
def test_model_replicates_are_seeded_counts_of_the_right_shape(sim, lik):
    m = CellVAE(sim, layer="counts", likelihood=lik, n_latent=4, n_hidden=32, batch_key="batch", seed=0)
    m.train(sim, max_epochs=2, progress=False)
    test = sim[sim.obs["split"] == "test"]
    a = m.posterior_predictive_sample(test, n_samples=2, seed=1)
    assert a.shape == (2, test.n_obs, test.n_vars) and a.dtype == np.float32
    assert np.all(a == np.round(a)) and a.min() >= 0
    np.testing.assert_array_equal(a, m.posterior_predictive_sample(test, n_samples=2, seed=1))
    assert not np.array_equal(a, m.posterior_predictive_sample(test, n_samples=2, seed=2))
    errs = ppc_errors(test.layers["counts"], a)
    assert all(np.isfinite(v) for v in errs.values())


def test_gaussian_model_replicates_go_back_to_counts(sim):
    from cellvae.data import get_variant, size_factors

    a = sim.copy()
    a.layers["processed"] = get_variant(a, "processed")
    m = CellVAE(a, layer="processed", likelihood="gaussian", n_latent=4, n_hidden=32, seed=0)
    m.train(a, max_epochs=2, progress=False)
    rep = m.posterior_predictive_sample(a, n_samples=1, seed=0)
    assert rep.shape == (1, a.n_obs, a.n_vars) and np.isfinite(rep).all()
    counts = gaussian_to_counts(rep, "processed", size_factors(a))
    assert counts.min() >= 0 and np.all(counts == np.round(counts))


def test_zero_inflation_verdict_flips_on_the_errors_and_the_likelihood():
    from cellvae.study.calls.zero_inflation import ZERO_GAIN, zero_inflation_verdict

    nb, better, same = ({"zero fraction MAE": v} for v in (0.05, 0.05 * (1 - ZERO_GAIN) - 1e-4, 0.045))
    yes, text = zero_inflation_verdict(nb, better, ll_gain=3.0, ll_se=0.1, simulated=False)
    assert yes and "fits better on both counts" in text and "0.0500" in text and "+3.0" in text
    no, text = zero_inflation_verdict(nb, better, ll_gain=0.1, ll_se=0.1, simulated=False)
    assert not no and "no evidence that extra zeros are needed" in text
    no, text = zero_inflation_verdict(nb, same, ll_gain=3.0, ll_se=0.1, simulated=False)
    assert not no and "without reproducing the zeros" in text
    no, text = zero_inflation_verdict(nb, same, ll_gain=-1.0, ll_se=0.1, simulated=True)
    assert not no and "zero inflation is not needed" in text and "simulator" not in text
    _, text = zero_inflation_verdict(nb, better, ll_gain=3.0, ll_se=0.1, simulated=True)
    assert "cannot come from extra zeros" in text
    assert zero_inflation_verdict(None, better, ll_gain=0, ll_se=1, simulated=True)[1].endswith("diverged.")


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


def test_zero_inflation_finding_of_runs_uses_the_paired_held_out_likelihood():
    from types import SimpleNamespace

    from cellvae.study.calls.zero_inflation import zero_inflation_finding

    errs = {"zero fraction MAE": 0.05}
    nb = SimpleNamespace(metrics={"ppc": errs}, iwae_cells=np.full(50, -800.0))
    zinb = SimpleNamespace(metrics={"ppc": {"zero fraction MAE": 0.01}}, iwae_cells=np.full(50, -797.0))
    better, text = zero_inflation_finding(nb, zinb, simulated=False)
    assert better and "+3.0 ± 0.0" in text
    diverged = SimpleNamespace(metrics={"status": "diverged"}, iwae_cells=None)
    assert zero_inflation_finding(nb, diverged, simulated=False) == (
        False, "The zero-inflation check could not be made: the NB or the ZINB run diverged.")
