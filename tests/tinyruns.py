"""Tiny runs for tests of the runner: two epochs of a 3-unit NB VAE, quick on any data."""

from __future__ import annotations

from cellvae.model import TrainConfig, VAEConfig
from cellvae.study.runner import grid

BASE = grid.RunSpec(arch="T", family="nb/raw", variant="raw",
                    model=VAEConfig(n_latent=3, n_hidden=16, likelihood="nb"),
                    train=TrainConfig(max_epochs=2, batch_size=256, patience=0, kl_warmup_epochs=1,
                                      progress=False), iwae_k=3)
#: Four distinct tiny runs (architecture, latent size and seed differ).
SPECS = [grid.variant_of(BASE, arch=f"T{i}", n_latent=2 + i, seed=i) for i in range(4)]


def tiny(**changes) -> grid.RunSpec:
    """:data:`BASE` with some fields changed (:func:`~cellvae.study.runner.grid.variant_of`)."""
    return grid.variant_of(BASE, **changes)
