"""Config validation: nonsense model and training options raise ConfigError."""

from __future__ import annotations

import pytest

from cellvae.model.config import ConfigError, TrainConfig, VAEConfig


@pytest.mark.parametrize(
    "kwargs, msg",
    [({"n_latent": 0}, "n_latent"), ({"likelihood": "poisson"}, "likelihood"),
     ({"dropout": 1.5}, "dropout"), ({"beta": -1}, "beta"), ({"encode_batch": True}, "encode_batch")],
)
def test_nonsense_model_config(kwargs, msg):
    with pytest.raises(ConfigError, match=msg):
        VAEConfig(n_input=10, **kwargs)


@pytest.mark.parametrize("kwargs, msg", [({"max_epochs": 0}, "max_epochs"), ({"lr": -1}, "lr"),
                                         ({"validation_fraction": 1.0}, "validation_fraction"),
                                         ({"precision": "16-mixed"}, "precision")])
def test_nonsense_train_config(kwargs, msg):
    with pytest.raises(ConfigError, match=msg):
        TrainConfig(**kwargs)
