"""The thin AnnData-facing model: setup, train, get_latent, evaluate, save, load."""

from __future__ import annotations

import os
from functools import partial
from pathlib import Path

import anndata as ad
import numpy as np
import torch

from ..data import DataError, fingerprint
from .checkpoint import load_checkpoint, save_checkpoint
from .config import ConfigError, TrainConfig, VAEConfig, config_from, default, reject_unknown
from .evaluate import active_units, evaluate, iwae, latent_mean, posterior_predictive
from .layout import check_layout, model_inputs
from .module import VAE
from .trainer import TrainResult, train

_vae, _train = partial(default, VAEConfig), partial(default, TrainConfig)  # each default: config.py


class CellVAE:
    """A VAE bound to an AnnData layout (genes, layer and batch categories).

    Each model option is keyword-only and defaults to its :class:`~cellvae.model.VAEConfig` field;
    ``n_input`` and ``n_batch`` are no options: they come from ``adata`` and ``batch_key``.

    Parameters
    ----------
    adata
        Cells x genes.  Count likelihoods need raw integer counts in ``layer``.
    layer
        Layer to model; ``None`` uses ``adata.X``.
    batch_key
        obs column whose categories condition the decoder (and encoder, ``encode_batch``); None: none.
    seed
        Seeds the weight initialisation (training has its own); the global random states are kept.
    n_latent
        Dimension of z.
    n_hidden
        Width of every hidden layer.
    n_layers
        Hidden layers in the encoder and in the decoder.
    dropout
        Dropout after each encoder hidden layer, in [0, 1).
    norm
        ``"batch"``, ``"layer"`` or ``"none"`` after each hidden linear map.
    likelihood
        p(x|z): ``"nb"``, ``"zinb"``, ``"gaussian"`` (learned variance) or ``"gaussian_fixed"``.
    fixed_var
        Variance of ``"gaussian_fixed"``.
    input_transform
        ``"log1p"``, ``"none"`` or ``"auto"`` (log1p for count likelihoods, else none).
    encode_batch
        Also feed the batch one-hot to the encoder (a conditional VAE); needs ``batch_key``.
    beta
        Weight on the KL term: loss = recon + beta * KL.
    reduction
        ``"sum"`` (the ELBO), ``"mean"``, ``"mean_recon"`` or ``"mean_kl"`` (see ``VAEConfig``).
    **unknown
        Not accepted: any other keyword raises :class:`ConfigError` naming the valid options.

    Raises
    ------
    DataError
        If the layer or batch column is missing, or counts are not raw counts.
    ConfigError
        If a model option is unknown or invalid.
    """

    def __init__(self, adata: ad.AnnData, *, layer: str | None = None,
                 batch_key: str | None = None, seed: int = 0,
                 n_latent: int = _vae("n_latent"), n_hidden: int = _vae("n_hidden"),
                 n_layers: int = _vae("n_layers"), dropout: float = _vae("dropout"),
                 norm: str = _vae("norm"), likelihood: str = _vae("likelihood"),
                 fixed_var: float = _vae("fixed_var"), input_transform: str = _vae("input_transform"),
                 encode_batch: bool = _vae("encode_batch"), beta: float = _vae("beta"),
                 reduction: str = _vae("reduction"), **unknown):
        options = dict(locals())  # the parameters, before any other local is bound
        if {"n_input", "n_batch"} & set(unknown):
            raise ConfigError("CellVAE: n_input and n_batch come from adata (genes, batch_key categories)")
        reject_unknown(CellVAE.__init__, unknown)
        self.layer, self.batch_key = layer, batch_key
        self.batch_categories = check_layout(adata, layer, batch_key, likelihood)
        cfg = config_from(VAEConfig, options, n_input=adata.n_vars, n_batch=len(self.batch_categories))
        with torch.random.fork_rng(devices=[]):
            torch.default_generator.manual_seed(seed)
            self.module = VAE(cfg)
        self.var_names, self.fingerprint = list(adata.var_names), fingerprint(adata, layer) if layer else None
        self.result: TrainResult | None = None
        self._adata: ad.AnnData | None = None

    def _inputs(self, adata: ad.AnnData | None):
        return model_inputs(self._adata if adata is None else adata, self.layer, self.batch_key,
                            self.var_names, self.batch_categories)

    def train(self, adata: ad.AnnData, *, checkpoint: str | os.PathLike | None = None,
              max_epochs: int = _train("max_epochs"), batch_size: int = _train("batch_size"),
              lr: float = _train("lr"), weight_decay: float = _train("weight_decay"), seed: int = _train("seed"),
              kl_warmup_epochs: int = _train("kl_warmup_epochs"), grad_clip: float = _train("grad_clip"),
              patience: int = _train("patience"), min_rel_gain: float = _train("min_rel_gain"),
              validation_fraction: float = _train("validation_fraction"), device: str = _train("device"),
              split_seed: int | None = _train("split_seed"), progress: bool = _train("progress"),
              checkpoint_every: int = _train("checkpoint_every"), cuda_graph: bool = _train("cuda_graph"),
              precision: str = _train("precision"), compile_likelihood: bool = _train("compile_likelihood"),
              **unknown) -> TrainResult:
        """Fit on ``adata``; every option defaults to its :class:`~cellvae.model.TrainConfig` field.

        Parameters
        ----------
        adata
            Cells with the model's genes, in order; bound as the default of later calls.
        checkpoint
            Resume snapshot: written, resumed from, then deleted (:func:`cellvae.model.train`).
        max_epochs
            Hard cap on passes over the training cells.
        batch_size
            Cells per minibatch.
        lr
            Adam learning rate.
        weight_decay
            Adam L2 penalty.
        kl_warmup_epochs
            Epochs over which the KL weight ramps from 0 to the model's ``beta``.
        grad_clip
            Max global gradient norm; 0 disables clipping.
        patience
            Epochs without a validation gain before stopping; 0 never stops early.
        min_rel_gain
            A gain smaller than this share of the validation loss counts as none.
        validation_fraction
            Share of the cells held out for early stopping.
        seed
            Seeds training (globally: torch, numpy and :mod:`random`, as
            :func:`cellvae.model.train` does) and, unless ``split_seed`` is set, the split.
        split_seed
            Seeds the validation split alone; ``None`` uses ``seed``.
        device
            ``"auto"`` (cuda, then mps, then cpu) or a torch device string.
        progress
            Show a tqdm bar with the running loss.
        checkpoint_every
            Epochs between resume snapshots (with ``checkpoint``).
        cuda_graph
            On CUDA, replay full minibatches' steps from captured graphs.
        precision, compile_likelihood
            ``"32"`` or ``"bf16-mixed"``; compile the NB/ZINB likelihood (:mod:`cellvae.model.fastpath`).
        **unknown
            Not accepted: any other keyword raises :class:`ConfigError` naming the valid options.

        Returns
        -------
        TrainResult
            Per-epoch history, best epoch, stop reason and wall time; also ``self.result``.

        Raises
        ------
        DataError
            As :meth:`get_latent`.
        ConfigError
            If a training option is unknown or invalid.
        TrainingDiverged
            If the loss becomes NaN or inf.
        ResumeMismatch
            If ``checkpoint`` belongs to another model, config or data.
        """
        reject_unknown(CellVAE.train, unknown)
        cfg = config_from(TrainConfig, locals())  # the parameters: nothing else is bound yet
        self._adata = adata
        x, batch = self._inputs(adata)
        self.result = train(self.module, x, batch=batch, config=cfg, checkpoint=checkpoint)
        return self.result

    def get_latent(self, adata: ad.AnnData | None = None, *, key: str | None = None) -> np.ndarray:
        """Posterior means E[z|x], cells x n_latent; also stored in ``adata.obsm[key]`` if given.

        Parameters
        ----------
        adata
            Cells with the genes, in order, the model was set up with; ``None`` uses the
            AnnData last passed to :meth:`train` or :meth:`load`.
        key
            ``obsm`` key to store the latent under; ``None`` stores nothing.

        Returns
        -------
        np.ndarray
            ``(n_cells, n_latent)`` float32 posterior means.

        Raises
        ------
        DataError
            If no AnnData is given or bound, its genes differ from the model's, or its
            batch column has categories the model has not seen.
        """
        x, batch = self._inputs(adata)
        z = latent_mean(self.module, x, batch=batch)
        if key is not None:
            (self._adata if adata is None else adata).obsm[key] = z
        return z

    def evaluate(self, adata: ad.AnnData | None = None, *, iwae_k: int = 0, seed: int = 0) -> dict:
        """Mean per-cell ELBO, reconstruction, KL (nats), active units and optional IWAE.

        Parameters
        ----------
        adata
            As in :meth:`get_latent`.
        iwae_k
            Importance samples per cell for the IWAE bound; 0 skips it.
        seed
            Seeds the z samples, so repeated calls give the same numbers.

        Returns
        -------
        dict
            ``elbo_mean``, ``recon_mean``, ``kl_mean`` (floats, nats per cell),
            ``active_units`` (int) and, if ``iwae_k`` > 0, ``iwae_mean``.

        Raises
        ------
        DataError
            As :meth:`get_latent`.
        """
        x, batch = self._inputs(adata)
        ev = evaluate(self.module, x, batch=batch, seed=seed)
        out = {k: ev[k] for k in ("elbo_mean", "recon_mean", "kl_mean")}
        out["active_units"] = active_units(latent_mean(self.module, x, batch=batch))[0]
        if iwae_k:
            out["iwae_mean"] = float(iwae(self.module, x, batch=batch, k=iwae_k, seed=seed).mean())
        return out

    def posterior_predictive_sample(self, adata: ad.AnnData | None = None, *, n_samples: int = 1,
                                    seed: int = 0) -> np.ndarray:
        """Replicate data x' ~ p(x | z), z ~ q(z | x), for posterior predictive checks.

        Parameters
        ----------
        adata
            As in :meth:`get_latent`.
        n_samples
            Replicates per cell.
        seed
            Seeds the draws, so repeated calls give the same replicates.

        Returns
        -------
        np.ndarray
            ``(n_samples, n_cells, n_genes)`` float32: counts for NB and ZINB, values on
            the training scale for Gaussians.

        Raises
        ------
        DataError
            As :meth:`get_latent`.
        """
        x, batch = self._inputs(adata)
        return posterior_predictive(self.module, x, batch=batch, n_samples=n_samples, seed=seed)

    def save(self, path: str | os.PathLike) -> Path:
        """Atomic checkpoint with config, genes, batch categories, history and training precision.

        Parameters
        ----------
        path
            Destination file; an existing one is replaced only once the write succeeds.

        Returns
        -------
        Path
            ``path`` as a :class:`~pathlib.Path`.
        """
        res = self.result or TrainResult()
        return save_checkpoint(path, self.module, layer=self.layer, batch_key=self.batch_key,
                               batch_categories=self.batch_categories, var_names=self.var_names,
                               fingerprint=self.fingerprint, history=res.history, precision=res.precision)

    @classmethod
    def load(cls, path: str | os.PathLike, adata: ad.AnnData | None = None) -> CellVAE:
        """Restore a saved model; ``adata``, if given, must have the same genes.

        Parameters
        ----------
        path
            A file written by :meth:`save`.
        adata
            Optional AnnData to bind as the default for :meth:`get_latent` and :meth:`evaluate`.

        Returns
        -------
        CellVAE
            The model in eval mode on CPU, with its training history and precision in ``result``.

        Raises
        ------
        CheckpointError
            If ``path`` is missing, corrupt or not a cellvae checkpoint.
        DataError
            If ``adata`` has other genes than the model or unseen batch categories.
        """
        module, payload = load_checkpoint(path)
        self = cls.__new__(cls)
        self.module, self.layer, self.batch_key = module, payload["layer"], payload["batch_key"]
        self.batch_categories, self.var_names = payload["batch_categories"], payload["var_names"]
        self.fingerprint, self._adata = payload["fingerprint"], None  # saved before precision was recorded: "32"
        self.result = TrainResult(history=payload["history"], precision=payload.get("precision", TrainResult.precision))
        if adata is not None:
            self._inputs(adata)  # checks the genes
        self._adata = adata
        return self

    def __repr__(self) -> str:
        c = self.module.cfg
        return (f"CellVAE(likelihood={c.likelihood!r}, n_latent={c.n_latent}, n_hidden={c.n_hidden}, "
                f"batch_key={self.batch_key!r}, layer={self.layer!r})")


__all__ = ["CellVAE", "ConfigError", "DataError"]
