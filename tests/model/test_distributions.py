"""The likelihoods against scipy, KL against Monte Carlo, the fast NB path, and NB/ZINB draws."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy import stats

from cellvae.model.distributions import sample_nb, sample_zinb
from cellvae.model.module import kl_normal_std, log_nb, log_normal, log_zinb


def test_kl_matches_monte_carlo():
    torch.manual_seed(0)
    mean, var = torch.randn(6), torch.rand(6) + 0.2
    z = mean + var.sqrt() * torch.randn(200_000, 6)
    mc = (log_normal(z, mean, var) - log_normal(z, torch.zeros(6), torch.ones(6))).mean(0)
    np.testing.assert_allclose(kl_normal_std(mean, var).numpy(), mc.numpy(), atol=0.01)


def test_nb_matches_scipy():
    x = torch.arange(0, 40, dtype=torch.float64)
    mu, theta = torch.tensor(3.7, dtype=torch.float64), torch.tensor(0.8, dtype=torch.float64)
    ref = stats.nbinom.logpmf(x.numpy(), theta.item(), theta.item() / (theta.item() + mu.item()))
    np.testing.assert_allclose(log_nb(x, mu, theta, eps=0).numpy(), ref, rtol=1e-10)


def test_zinb_matches_mixture():
    x = torch.arange(0, 30, dtype=torch.float64)
    mu, theta, logit = (torch.tensor(v, dtype=torch.float64) for v in (2.5, 1.3, -0.4))
    pi = torch.sigmoid(logit).item()
    nb = stats.nbinom.pmf(x.numpy(), theta.item(), theta.item() / (theta.item() + mu.item()))
    ref = np.log(np.where(x.numpy() == 0, pi + (1 - pi) * nb, (1 - pi) * nb))
    np.testing.assert_allclose(log_zinb(x, mu, theta, logit, eps=0).numpy(), ref, rtol=1e-8)


def test_gaussian_matches_scipy():
    x = torch.linspace(-3, 3, 11, dtype=torch.float64)
    ref = stats.norm.logpdf(x.numpy(), 0.5, np.sqrt(2.0))
    got = log_normal(x, torch.tensor(0.5, dtype=torch.float64), torch.tensor(2.0, dtype=torch.float64))
    np.testing.assert_allclose(got.numpy(), ref, rtol=1e-10)


def _nb_batch(n=64, g=300, seed=0):
    rng = np.random.default_rng(seed)
    mu = rng.gamma(0.5, 1.0, (n, g)).astype(np.float32) * 3
    theta = rng.gamma(2.0, 1.0, g).astype(np.float32) + 0.05
    x = rng.negative_binomial(theta, theta / (theta + mu)).astype(np.float32)
    return torch.from_numpy(x), torch.from_numpy(mu), torch.from_numpy(theta)


def test_fast_nb_rows_match_scipy_per_cell_to_float32_precision():
    from cellvae.model.distributions import log_nb_rows

    x, mu, theta = _nb_batch()
    assert 0.3 < (x == 0).float().mean() < 0.95  # a count matrix: mostly zeros
    ref = stats.nbinom.logpmf(x.numpy().astype(np.float64), theta.numpy().astype(np.float64),
                              (theta / (theta + mu)).numpy().astype(np.float64)).sum(-1)
    got = log_nb_rows(x, mu, theta, eps=0.0).numpy()
    np.testing.assert_allclose(got, ref, rtol=2e-6, atol=1e-3)
    dense = log_nb(x, mu, theta).sum(-1).numpy()
    np.testing.assert_allclose(log_nb_rows(x, mu, theta).numpy(), dense, rtol=2e-6, atol=1e-3)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device (benchmarks/on_gpu.sh runs it)")
def test_nb_rows_on_cuda_match_scipy():
    from cellvae.model.distributions import log_nb_rows

    x, mu, theta = _nb_batch()
    ref = stats.nbinom.logpmf(x.numpy().astype(np.float64), theta.numpy().astype(np.float64),
                              (theta / (theta + mu)).numpy().astype(np.float64)).sum(-1)
    got = log_nb_rows(x.cuda(), mu.cuda(), theta.cuda(), eps=0.0).cpu().numpy()
    np.testing.assert_allclose(got, ref, rtol=2e-6, atol=1e-3)


def test_fast_nb_rows_with_sample_dimension_and_gradients():
    from cellvae.model.distributions import log_nb_rows

    x, mu, theta = _nb_batch(n=16, g=50)
    mu_k = torch.stack([mu, mu * 1.5, mu * 0.5]).requires_grad_(True)
    th = theta.clone().requires_grad_(True)
    fast = log_nb_rows(x, mu_k, th)
    assert fast.shape == (3, 16)
    fast.sum().backward()
    g_fast = (mu_k.grad.clone(), th.grad.clone())
    mu_k.grad, th.grad = None, None
    log_nb(x, mu_k, th).sum().backward()
    torch.testing.assert_close(mu_k.grad, g_fast[0], rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(th.grad, g_fast[1], rtol=1e-4, atol=1e-3)


def test_fast_nb_rows_gradients_are_bitwise_repeatable_with_two_threads():
    """Same inputs, same stack: the same gradient, also when torch runs 2 threads."""
    from cellvae.model.distributions import log_nb_rows

    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        torch.manual_seed(0)
        x = torch.poisson(torch.rand(512, 2000) * 3)
        mu, theta = torch.rand(512, 2000) * 3 + 0.1, (torch.rand(2000) + 0.5).requires_grad_(True)
        grads = []
        for _ in range(10):
            log_nb_rows(x, mu, theta).sum().backward()
            grads.append(theta.grad.clone())
            theta.grad = None
        assert all(torch.equal(grads[0], g) for g in grads)
    finally:
        torch.set_num_threads(before)


def test_nb_and_zinb_draws_have_the_right_moments():
    torch.manual_seed(0)
    mu, theta = torch.full((200_000,), 4.0), torch.tensor(1.5)
    x = sample_nb(mu, theta).numpy()
    assert np.all(x == np.round(x)) and x.min() >= 0
    assert abs(x.mean() - 4.0) < 0.05 and abs(x.var() / (4.0 + 16.0 / 1.5) - 1) < 0.03
    z = sample_zinb(mu, theta, torch.tensor(0.0)).numpy()  # pi = 0.5
    nb0 = stats.nbinom.pmf(0, 1.5, 1.5 / 5.5)
    assert abs((z == 0).mean() - (0.5 + 0.5 * nb0)) < 0.005
