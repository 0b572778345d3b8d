"""Training: overfitting, determinism, the NaN guard, early stopping, interrupts, every likelihood."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
import torch

from cellvae.data import get_variant
from cellvae.model.config import TrainConfig, VAEConfig
from cellvae.model.evaluate import evaluate
from cellvae.model.module import VAE
from cellvae.model.trainer import TrainingDiverged, kl_weight, seed_everything, train

FAST = dict(progress=False, batch_size=128)


def _counts(n=64, g=30, seed=0):
    rng = np.random.default_rng(seed)
    return sp.csr_matrix(rng.negative_binomial(2, 0.4, (n, g)).astype(np.float32))


def test_tiny_dataset_overfits():
    """With beta = 0 (an autoencoder) 32 cells are memorised far below the initial loss."""
    x = _counts(n=32)
    m = VAE(VAEConfig(n_input=30, n_latent=8, n_hidden=128, dropout=0.0, beta=0.0, norm="none"))
    before = evaluate(m, x)["recon_mean"]
    res = train(m, x, config=TrainConfig(max_epochs=500, lr=3e-3, validation_fraction=0, patience=0,
                                         kl_warmup_epochs=0, progress=False, batch_size=32))
    after = evaluate(m, x)["recon_mean"]
    assert after < 0.7 * before
    assert res.history[-1]["train_loss"] < res.history[0]["train_loss"]


def test_same_seed_same_numbers(sim):
    x = get_variant(sim, "raw")

    def run(seed):
        seed_everything(seed)  # weights are initialised from the global torch RNG
        m = VAE(VAEConfig(n_input=x.shape[1], n_latent=4, n_hidden=32))
        train(m, x, config=TrainConfig(max_epochs=3, seed=seed, **FAST))
        return evaluate(m, x)["elbo"]

    a, b, c = run(0), run(0), run(1)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


def test_nan_guard_names_cause_and_remedy():
    x = _counts() * 1e4  # raw-count-like magnitudes
    torch.manual_seed(0)
    m = VAE(VAEConfig(n_input=30, likelihood="gaussian", input_transform="none", norm="none"))
    with pytest.raises(TrainingDiverged, match=r"gaussian likelihood diverged .* at epoch \d+.*likelihood='nb'"):
        train(m, x, config=TrainConfig(max_epochs=20, lr=1e6, grad_clip=0, **FAST))


@pytest.mark.parametrize("lik, variant", [("nb", "raw"), ("zinb", "raw"), ("gaussian", "processed"),
                                          ("gaussian_fixed", "processed")])
def test_each_likelihood_trains(sim, lik, variant):
    x = get_variant(sim, variant)
    tf = "log1p" if variant == "raw" else "none"
    m = VAE(VAEConfig(n_input=x.shape[1], n_latent=5, n_hidden=32, likelihood=lik, input_transform=tf))
    before = evaluate(m, x)["elbo_mean"]
    res = train(m, x, config=TrainConfig(max_epochs=5, kl_warmup_epochs=2, **FAST))
    assert len(res.history) == 5 and res.best_epoch >= 2
    assert evaluate(m, x)["elbo_mean"] > before


def test_warmup_ends_at_full_beta():
    cfg = TrainConfig(max_epochs=5, kl_warmup_epochs=50)
    assert kl_weight(0, cfg, 1.0) == 0.0
    assert kl_weight(4, cfg, 1.0) == 1.0


def test_early_stopping_restores_best(sim):
    x = get_variant(sim, "raw")
    m = VAE(VAEConfig(n_input=x.shape[1], n_latent=4, n_hidden=16))
    res = train(m, x, config=TrainConfig(max_epochs=40, patience=2, lr=5e-2, kl_warmup_epochs=0, **FAST))
    best = min(h["val_loss"] for h in res.history)
    assert res.history[res.best_epoch]["val_loss"] == best
    if res.stopped == "early_stopping":
        assert len(res.history) == res.best_epoch + 3


@pytest.mark.parametrize("min_rel_gain, epochs", [(0.0, 12), (1e-3, 4)])
def test_small_gains_count_as_none_under_min_rel_gain(monkeypatch, min_rel_gain, epochs):
    """A validation loss creeping down by 0.01% per epoch: any gain keeps going, a 0.1% floor stops."""
    import cellvae.model.trainer as tr

    losses = iter(100.0 * (1 - 1e-4) ** k for k in range(100))

    def scripted(*args):  # training passes get an optimiser as a 9th argument, validation passes do not
        v = 1.0 if len(args) == 9 else next(losses)
        return {"loss": v, "elbo": -v}

    monkeypatch.setattr(tr, "_run_epoch", scripted)
    x = _counts()
    m = VAE(VAEConfig(n_input=30, n_latent=2, n_hidden=8))
    res = train(m, x, config=TrainConfig(max_epochs=12, patience=3, kl_warmup_epochs=0,
                                         min_rel_gain=min_rel_gain, **FAST))
    assert len(res.history) == epochs and res.best_epoch == epochs - 1  # the best weights follow every gain
    assert res.stopped == ("max_epochs" if min_rel_gain == 0 else "early_stopping")


def test_keyboard_interrupt_keeps_best(sim, monkeypatch):
    import cellvae.model.trainer as tr

    x = get_variant(sim, "raw")
    m = VAE(VAEConfig(n_input=x.shape[1], n_latent=4, n_hidden=16))
    real, calls = tr._run_epoch, {"n": 0}

    def flaky(*a, **k):
        calls["n"] += 1
        if calls["n"] == 7:  # during the 4th epoch's training pass
            raise KeyboardInterrupt
        return real(*a, **k)

    monkeypatch.setattr(tr, "_run_epoch", flaky)
    with pytest.warns(UserWarning, match="interrupted after 3 epoch.*keeping the best state"):
        res = train(m, x, config=TrainConfig(max_epochs=10, kl_warmup_epochs=0, **FAST))
    assert res.stopped == "interrupted" and 0 <= res.best_epoch <= 2


def test_split_seed_fixes_the_validation_cells_across_seeds():
    from cellvae.model import validation_seed

    assert validation_seed(TrainConfig(seed=3)) == 3
    assert validation_seed(TrainConfig(seed=3, split_seed=0)) == 0


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device (benchmarks/on_gpu.sh runs it)")
def test_cuda_fit_is_deterministic_and_restores_the_global_flag(sim):
    x = get_variant(sim, "raw")
    cfg = TrainConfig(max_epochs=3, kl_warmup_epochs=1, patience=0, batch_size=128, device="cuda", progress=False)

    def fit():
        seed_everything(0)
        m = VAE(VAEConfig(n_input=x.shape[1], n_latent=4, n_hidden=16))
        return [h["val_elbo"] for h in train(m, x, config=cfg).history]

    before = torch.are_deterministic_algorithms_enabled()
    assert fit() == fit()
    assert torch.are_deterministic_algorithms_enabled() == before
