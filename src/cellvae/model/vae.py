"""The thin AnnData-facing model: setup, train, get_latent, evaluate, save, load."""

from __future__ import annotations

import os
from pathlib import Path

import anndata as ad
import numpy as np
import pandas as pd
import scipy.sparse as sp

from ..data import DataError, check_counts, fingerprint
from .checkpoint import load_checkpoint, save_checkpoint
from .config import COUNT_LIKELIHOODS, ConfigError, TrainConfig, VAEConfig, default
from .evaluate import active_units, evaluate, iwae, latent_mean, posterior_predictive
from .module import VAE
from .trainer import TrainResult, seed_everything, train


class CellVAE:
    """A VAE bound to an AnnData layout (genes, layer and batch categories).

    Parameters
    ----------
    adata
        Cells x genes.  Count likelihoods need raw integer counts in ``layer``.
    layer
        Layer to model; ``None`` uses ``adata.X``.
    batch_key
        obs column whose categories condition the decoder (and the encoder when
        ``encode_batch=True``); ``None`` for an unconditional VAE.
    seed
        Seeds the weight initialisation (training has its own ``seed``).
    **model_kwargs
        Any :class:`~cellvae.model.VAEConfig` field except ``n_input`` and ``n_batch``, which
        come from ``adata``: ``likelihood`` (``"nb"``, ``"zinb"``, ``"gaussian"``,
        ``"gaussian_fixed"``), ``n_latent``, ``n_hidden``, ...  Unset fields keep the
        config's defaults.

    Raises
    ------
    DataError
        If the layer or batch column is missing, or counts are not raw counts.
    ConfigError
        If a model option is invalid.
    """

    def __init__(self, adata: ad.AnnData, *, layer: str | None = None,
                 batch_key: str | None = None, seed: int = 0, **model_kwargs):
        self.layer, self.batch_key = layer, batch_key
        likelihood = model_kwargs.get("likelihood", default(VAEConfig, "likelihood"))
        self.batch_categories = self._setup(adata, likelihood)
        seed_everything(seed)
        self.module = VAE(VAEConfig(n_input=adata.n_vars, n_batch=len(self.batch_categories),
                                    **model_kwargs))
        self.var_names = list(adata.var_names)
        self.fingerprint = fingerprint(adata, layer) if layer else None
        self.result: TrainResult | None = None
        self._adata: ad.AnnData | None = None

    def _setup(self, adata: ad.AnnData, likelihood: str) -> list[str]:
        """Validate the layer and batch column; return the batch categories."""
        if self.layer is not None and self.layer not in adata.layers:
            raise DataError(f"no layers['{self.layer}']; found layers {sorted(adata.layers)}")
        if likelihood in COUNT_LIKELIHOODS:
            check_counts(self._matrix(adata))
        if self.batch_key is None:
            return []
        if self.batch_key not in adata.obs:
            raise DataError(f"batch_key '{self.batch_key}' is not an obs column")
        return [str(c) for c in pd.Categorical(adata.obs[self.batch_key]).categories]

    def _matrix(self, adata: ad.AnnData):
        x = adata.X if self.layer is None else adata.layers[self.layer]
        return sp.csr_matrix(x, dtype=np.float32) if sp.issparse(x) else np.asarray(x, np.float32)

    def _inputs(self, adata: ad.AnnData | None):
        adata = self._adata if adata is None else adata
        if adata is None:
            raise DataError("no AnnData bound to this model: pass adata")
        if list(adata.var_names) != self.var_names:
            raise DataError("adata's genes differ from the genes the model was set up with")
        batch = None
        if self.batch_key:
            codes = pd.Categorical(adata.obs[self.batch_key].astype(str), categories=self.batch_categories).codes
            if (codes < 0).any():
                raise DataError(f"obs['{self.batch_key}'] has categories the model has not seen")
            batch = codes.astype(np.int64)
        return self._matrix(adata), batch

    def train(self, adata: ad.AnnData, *, checkpoint: str | os.PathLike | None = None,
              **train_kwargs) -> TrainResult:
        """Fit on ``adata``; keyword arguments are :class:`~cellvae.config.TrainConfig` fields.

        Parameters
        ----------
        adata
            Cells with the genes, in order, the model was set up with; it stays bound as
            the default for :meth:`get_latent` and :meth:`evaluate`.
        checkpoint
            Resume snapshot path: written while training, resumed from if present,
            deleted when training finishes (see :func:`cellvae.model.train`).
        **train_kwargs
            ``max_epochs``, ``batch_size``, ``lr``, ``kl_warmup_epochs``, ``patience``,
            ``seed``, ``device``, ...; unset fields keep the config's defaults.

        Returns
        -------
        TrainResult
            Per-epoch history, best epoch, stop reason and wall time; also ``self.result``.

        Raises
        ------
        DataError
            If no AnnData is given or bound, its genes differ from the model's, or its
            batch column has categories the model has not seen.
        ConfigError
            If a training option is invalid.
        TrainingDiverged
            If the loss becomes NaN or inf.
        ResumeMismatch
            If ``checkpoint`` belongs to another model, config or data.
        """
        self._adata = adata
        x, batch = self._inputs(adata)
        self.result = train(self.module, x, batch=batch, config=TrainConfig(**train_kwargs),
                            checkpoint=checkpoint)
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
            Cells with the genes, in order, the model was set up with; ``None`` uses the
            AnnData last passed to :meth:`train` or :meth:`load`.
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
            If no AnnData is given or bound, its genes differ from the model's, or its
            batch column has categories the model has not seen.
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
            Cells with the genes, in order, the model was set up with; ``None`` uses the
            AnnData last passed to :meth:`train` or :meth:`load`.
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
        """Atomic checkpoint with config, genes, batch categories and history.

        Parameters
        ----------
        path
            Destination file; an existing one is replaced only once the write succeeds.

        Returns
        -------
        Path
            ``path`` as a :class:`~pathlib.Path`.
        """
        hist = self.result.history if self.result else []
        return save_checkpoint(path, self.module, layer=self.layer, batch_key=self.batch_key,
                               batch_categories=self.batch_categories, var_names=self.var_names,
                               fingerprint=self.fingerprint, history=hist)

    @classmethod
    def load(cls, path: str | os.PathLike, adata: ad.AnnData | None = None) -> CellVAE:
        """Restore a saved model; ``adata``, if given, must have the same genes.

        Parameters
        ----------
        path
            A file written by :meth:`save`.
        adata
            Optional AnnData to bind as the default for :meth:`get_latent` and
            :meth:`evaluate`.

        Returns
        -------
        CellVAE
            The model in eval mode on CPU, with its training history in ``result``.

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
        self.fingerprint, self.result = payload["fingerprint"], TrainResult(history=payload["history"])
        self._adata = None
        if adata is not None:
            self._inputs(adata)  # checks the genes
            self._adata = adata
        return self

    def __repr__(self) -> str:
        c = self.module.cfg
        return (f"CellVAE(likelihood={c.likelihood!r}, n_latent={c.n_latent}, n_hidden={c.n_hidden}, "
                f"batch_key={self.batch_key!r}, layer={self.layer!r})")


__all__ = ["CellVAE", "ConfigError", "DataError"]
