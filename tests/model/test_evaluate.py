"""Evaluation: ELBO on sparse and dense input, IWAE above the ELBO, collapsed units detected."""

from __future__ import annotations

import numpy as np
import pytest

from cellvae.data import get_variant
from cellvae.model.config import TrainConfig, VAEConfig
from cellvae.model.evaluate import active_units, evaluate, iwae, latent_mean
from cellvae.model.module import VAE
from cellvae.model.trainer import train

FAST = dict(progress=False, batch_size=128)


def test_sparse_and_dense_give_same_loss(sim):
    x = get_variant(sim, "raw")
    m = VAE(VAEConfig(n_input=x.shape[1], n_latent=4, n_hidden=16))
    a = evaluate(m, x, seed=3)["elbo"]
    b = evaluate(m, x.toarray(), seed=3)["elbo"]
    np.testing.assert_allclose(a, b, rtol=1e-6)


@pytest.mark.slow
def test_posterior_collapse_is_detected(sim):
    """A huge beta collapses q(z|x) onto the prior; a healthy NB model keeps its units."""
    x = get_variant(sim, "raw")

    def fit(beta):
        m = VAE(VAEConfig(n_input=x.shape[1], n_latent=8, n_hidden=64, beta=beta))
        train(m, x, config=TrainConfig(max_epochs=30, kl_warmup_epochs=5, lr=3e-3, **FAST))
        return active_units(latent_mean(m, x))[0], evaluate(m, x)["kl_mean"]

    au_collapsed, kl_collapsed = fit(200.0)
    au_healthy, kl_healthy = fit(1.0)
    assert au_collapsed <= 1 and kl_collapsed < 0.5
    assert au_healthy >= 4 and kl_healthy > 1.0


def test_iwae_tighter_than_elbo(sim):
    x = get_variant(sim, "raw")
    m = VAE(VAEConfig(n_input=x.shape[1], n_latent=4, n_hidden=16))
    train(m, x, config=TrainConfig(max_epochs=3, **FAST))
    assert iwae(m, x, k=50).mean() > evaluate(m, x)["elbo_mean"]
    with pytest.raises(ValueError, match="k must be"):
        iwae(m, x, k=0)
