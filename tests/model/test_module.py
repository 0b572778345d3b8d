"""The torch module: gradients, the IWAE bound, batch conditioning and the loss's reductions."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from cellvae.model.config import ConfigError, VAEConfig
from cellvae.model.module import VAE, log_normal


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


def _nb_batch(n=64, g=300, seed=0):
    rng = np.random.default_rng(seed)
    mu = rng.gamma(0.5, 1.0, (n, g)).astype(np.float32) * 3
    theta = rng.gamma(2.0, 1.0, g).astype(np.float32) + 0.05
    x = rng.negative_binomial(theta, theta / (theta + mu)).astype(np.float32)
    return torch.from_numpy(x), torch.from_numpy(mu), torch.from_numpy(theta)


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
