"""The torch module: likelihoods against scipy, KL against Monte Carlo, gradients."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy import stats

from cellvae.model.config import ConfigError, TrainConfig, VAEConfig
from cellvae.model.module import VAE, kl_normal_std, log_nb, log_normal, log_zinb


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


@pytest.mark.parametrize("lik", ["gaussian", "gaussian_fixed", "nb", "zinb"])
def test_gradients_reach_encoder(lik):
    torch.manual_seed(0)
    m = VAE(VAEConfig(n_input=20, n_latent=3, n_hidden=8, likelihood=lik))
    x = torch.poisson(torch.full((16, 20), 2.0))
    m(x).loss.backward()
    g = m.encoder[0].weight.grad
    assert g is not None and g.abs().sum() > 0
    assert m.z_var.weight.grad.abs().sum() > 0  # through sigma in z = mu + sigma * eps


def test_elbo_is_bounded_by_iwae():
    torch.manual_seed(0)
    m = VAE(VAEConfig(n_input=20, n_latent=3, n_hidden=8)).eval()
    x = torch.poisson(torch.full((64, 20), 2.0))
    logw = m.log_importance_weights(x, k=200)
    iw = (torch.logsumexp(logw, 0) - np.log(200)).mean()
    assert iw > logw.mean()  # Jensen: log E[w] >= E[log w] = ELBO


def test_batch_conditional_needs_batch():
    m = VAE(VAEConfig(n_input=5, n_batch=2, encode_batch=True))
    with pytest.raises(ValueError, match="pass batch indices"):
        m(torch.ones(4, 5))
    assert m(torch.ones(4, 5), torch.tensor([0, 1, 0, 1])).recon.shape == (4,)


@pytest.mark.parametrize(
    "kwargs, msg",
    [({"n_latent": 0}, "n_latent"), ({"likelihood": "poisson"}, "likelihood"),
     ({"dropout": 1.5}, "dropout"), ({"beta": -1}, "beta"), ({"encode_batch": True}, "encode_batch")],
)
def test_nonsense_model_config(kwargs, msg):
    with pytest.raises(ConfigError, match=msg):
        VAEConfig(n_input=10, **kwargs)


@pytest.mark.parametrize("kwargs, msg", [({"max_epochs": 0}, "max_epochs"), ({"lr": -1}, "lr"),
                                         ({"validation_fraction": 1.0}, "validation_fraction")])
def test_nonsense_train_config(kwargs, msg):
    with pytest.raises(ConfigError, match=msg):
        TrainConfig(**kwargs)


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


@pytest.mark.parametrize("lik", ["nb", "zinb", "gaussian"])
def test_model_recon_and_iwae_use_the_full_likelihood(lik):
    """The loss's recon and the IWAE weights equal the elementwise reference, constants included."""
    x, _, _ = _nb_batch(n=32, g=40)
    torch.manual_seed(0)
    m = VAE(VAEConfig(n_input=40, n_latent=3, n_hidden=16, likelihood=lik)).eval()
    inf = m.inference(x)
    gen = m.generative(inf["z"], inf["library"])
    out = m.loss(x, inf, gen)
    torch.testing.assert_close(out.recon, -m.log_px(x, gen).sum(-1), rtol=2e-6, atol=1e-3)
    torch.manual_seed(1)
    lw = m.log_importance_weights(x, k=4)
    torch.manual_seed(1)
    inf = m.inference(x, n_samples=4)
    gen = m.generative(inf["z"], inf["library"])
    ref = (m.log_px(x, gen).sum(-1) + log_normal(inf["z"], 0.0 * inf["z"], 1.0 + 0.0 * inf["z"]).sum(-1)
           - log_normal(inf["z"], inf["qz_m"], inf["qz_v"]).sum(-1))
    torch.testing.assert_close(lw, ref, rtol=2e-6, atol=1e-3)


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


def test_each_reduction_averages_the_terms_it_names():
    """sum: the ELBO; mean: both terms averaged (beta_eff = G/d); mean_recon, mean_kl: one term."""
    g, d = 30, 5
    x = torch.poisson(torch.full((16, g), 2.0))
    out = {}
    for red in ("sum", "mean", "mean_recon", "mean_kl"):
        torch.manual_seed(0)
        m = VAE(VAEConfig(n_input=g, n_latent=d, n_hidden=8, likelihood="gaussian_fixed", reduction=red)).eval()
        torch.manual_seed(1)
        inf = m.inference(x)
        out[red] = m.loss(x, inf, m.generative(inf["z"], inf["library"]), beta=2.0)
    rec, kl = out["sum"].recon, out["sum"].kl
    for red, want in {"sum": rec + 2 * kl, "mean": rec / g + 2 * kl / d, "mean_recon": rec / g + 2 * kl,
                      "mean_kl": rec + 2 * kl / d}.items():
        torch.testing.assert_close(out[red].loss, want.mean(), rtol=1e-5, atol=1e-5)
        torch.testing.assert_close(out[red].recon, rec)  # reported terms stay in nats per cell
    with pytest.raises(ConfigError, match="reduction must be one of"):
        VAEConfig(reduction="median")
