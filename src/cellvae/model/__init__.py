"""The model: config, torch module, trainer, evaluation, checkpoints and the AnnData-facing CellVAE.

- :mod:`cellvae.model.config`: :class:`VAEConfig` and :class:`TrainConfig`, where every default lives.
- :mod:`cellvae.model.module`: the pure torch VAE (``inference``, ``generative``, ``loss``).
- :mod:`cellvae.model.trainer`: the minibatch loop; knows nothing of AnnData.
- :mod:`cellvae.model.fastpath`: the opt-in bf16 mixed precision and compiled likelihood of a fit.
- :mod:`cellvae.model.evaluate`: per-cell ELBO, IWAE, active units, posterior predictive draws.
- :mod:`cellvae.model.checkpoint`: atomic, validated checkpoints.
- :mod:`cellvae.model.layout`: the AnnData layout (layer, batch column, genes) a CellVAE binds to.
- :mod:`cellvae.model.vae`: :class:`CellVAE`, the thin AnnData-facing model.
"""

from .batches import split_validation
from .checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from .config import (
    COUNT_LIKELIHOODS,
    LIKELIHOODS,
    PRECISIONS,
    ConfigError,
    TrainConfig,
    VAEConfig,
    default,
)
from .evaluate import (
    active_units,
    bootstrap_mean,
    evaluate,
    iwae,
    latent_mean,
    posterior_predictive,
)
from .module import VAE, LossOutput
from .resume import ResumeMismatch
from .trainer import TrainingDiverged, TrainResult, seed_everything, train, validation_seed
from .vae import CellVAE

__all__ = [
    "COUNT_LIKELIHOODS", "LIKELIHOODS", "PRECISIONS", "VAE", "CellVAE", "CheckpointError", "ConfigError",
    "LossOutput", "ResumeMismatch", "TrainConfig", "TrainResult", "TrainingDiverged", "VAEConfig", "active_units",
    "bootstrap_mean", "default", "evaluate", "iwae", "latent_mean", "load_checkpoint", "posterior_predictive",
    "save_checkpoint", "seed_everything", "split_validation", "train", "validation_seed",
]
