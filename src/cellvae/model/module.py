"""The VAE as a pure torch module: ``inference``, ``generative`` and ``loss``.

Equation numbers (Eq. T1 ...) refer to the derivations in the report's theory
chapter (``book/theory.md``).  Nothing here knows about AnnData.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from .config import COUNT_LIKELIHOODS, ConfigError, VAEConfig
from .distributions import kl_normal_std, log_nb, log_nb_rows, log_normal, log_zinb
from .fastpath import compiled_log_px_rows

__all__ = ["VAE", "LossOutput", "kl_normal_std", "log_nb", "log_nb_rows", "log_normal", "log_zinb"]


@dataclass
class LossOutput:
    """What one forward pass yields; per-cell terms are in nats."""

    loss: torch.Tensor    # scalar that is minimised (the negative ELBO, possibly beta-weighted)
    recon: torch.Tensor   # (n,) -log p(x|z) summed over genes, one z sample (Eq. T3)
    kl: torch.Tensor      # (n,) KL(q(z|x) || N(0, I)) in closed form (Eq. T4)

    @property
    def elbo(self) -> torch.Tensor:
        """(n,) per-cell ELBO = -(recon + KL), always with beta = 1 (Eq. T2)."""
        return -(self.recon + self.kl)

    def sums(self) -> torch.Tensor:
        """The loss and the minibatch's summed ELBO, reconstruction and KL, detached.

        Returns
        -------
        torch.Tensor
            ``(4,)``: loss, sum of ``elbo``, sum of ``recon``, sum of ``kl``.
        """
        return torch.stack([self.loss, self.elbo.sum(), self.recon.sum(), self.kl.sum()]).detach()


def _mlp(n_in: int, cfg: VAEConfig, dropout: float) -> nn.Sequential:
    layers: list[nn.Module] = []
    for i in range(cfg.n_layers):
        layers.append(nn.Linear(n_in if i == 0 else cfg.n_hidden, cfg.n_hidden))
        if cfg.norm == "batch":
            layers.append(nn.BatchNorm1d(cfg.n_hidden, momentum=0.01, eps=1e-3))
        elif cfg.norm == "layer":
            layers.append(nn.LayerNorm(cfg.n_hidden))
        layers.append(nn.ReLU())
        if dropout > 0:
            layers.append(nn.Dropout(dropout))
    return nn.Sequential(*layers)


class VAE(nn.Module):
    """Encoder q(z|x[,s]) = N(mu, diag sigma^2); decoder p(x|z[,s]) from ``cfg.likelihood``."""

    def __init__(self, cfg: VAEConfig):
        super().__init__()
        if cfg.n_input is None:
            raise ConfigError("VAEConfig.n_input is unset: give the number of genes")
        self.cfg = cfg
        g, h = cfg.n_input, cfg.n_hidden
        self.encoder = _mlp(g + (cfg.n_batch if cfg.encode_batch else 0), cfg, cfg.dropout)
        self.z_mean = nn.Linear(h, cfg.n_latent)
        self.z_var = nn.Linear(h, cfg.n_latent)
        self.decoder = _mlp(cfg.n_latent + cfg.n_batch, cfg, 0.0)
        self.px_out = nn.Linear(h, g)  # softmax scale for counts, the mean for Gaussians
        if cfg.likelihood in COUNT_LIKELIHOODS:
            self.px_log_theta = nn.Parameter(torch.zeros(g))  # per-gene NB inverse dispersion
        if cfg.likelihood == "zinb":
            self.px_dropout = nn.Linear(h, g)
        if cfg.likelihood == "gaussian":
            self.px_log_var = nn.Parameter(torch.zeros(g))  # per-gene learned variance
        self.autocast: str | None = None   # a device type while a bf16-mixed fit runs (model/fastpath.py)
        self.compile_likelihood = False    # True while a fit with TrainConfig.compile_likelihood runs

    def _mixed(self):
        """bfloat16 autocast for the layers in the block, while a bf16-mixed fit runs."""
        if self.autocast is None:
            return contextlib.nullcontext()
        return torch.autocast(self.autocast, dtype=torch.bfloat16, cache_enabled=False)  # cache: not in graphs

    def _up(self, t):
        """A layer's output back in float32 after :meth:`_mixed` (the loss stays in float32)."""
        return t if self.autocast is None else t.float()

    def _onehot(self, batch):
        if self.cfg.n_batch == 0:
            return None
        if batch is None:
            raise ValueError("this model is batch-conditional: pass batch indices")
        return F.one_hot(batch.long(), self.cfg.n_batch).to(self.z_mean.weight.dtype)

    def inference(self, x, batch=None, n_samples: int = 1) -> dict:
        """q(z|x): mean, variance and reparameterised samples z = mu + sigma * eps (Eq. T8).

        Parameters
        ----------
        x
            ``(n, genes)`` input; log1p is applied here if ``cfg.input_transform`` says so.
        batch
            ``(n,)`` integer batch codes; required (else ValueError) if ``cfg.n_batch > 0``.
        n_samples
            Number of z samples per cell.

        Returns
        -------
        dict
            ``qz_m``, ``qz_v``: ``(n, n_latent)``; ``z``: ``(n, n_latent)``, or
            ``(n_samples, n, n_latent)`` if ``n_samples > 1``; ``library``: ``(n, 1)``
            row sums of the untransformed ``x``.
        """
        h = torch.log1p(x) if self.cfg.input_transform == "log1p" else x
        s = self._onehot(batch)
        if self.cfg.encode_batch:
            h = torch.cat([h, s], dim=-1)
        with self._mixed():
            h = self._up(self.encoder(h))
        qz_m = self.z_mean(h)
        qz_v = F.softplus(self.z_var(h)) + 1e-4  # positive and bounded away from 0
        eps = torch.randn((n_samples, *qz_m.shape), device=x.device, dtype=qz_m.dtype)
        z = qz_m + qz_v.sqrt() * eps
        library = x.sum(-1, keepdim=True)
        return {"qz_m": qz_m, "qz_v": qz_v, "z": z if n_samples > 1 else z[0], "library": library}

    def generative(self, z, library=None, batch=None) -> dict:
        """Decoder parameters of p(x|z): the mean is f_theta(z), never z itself (Eq. T1).

        Parameters
        ----------
        z
            Latent samples ``(..., n, n_latent)``.
        library
            ``(n, 1)`` observed library sizes that scale the count means; unused for Gaussians.
        batch
            ``(n,)`` integer batch codes; required (else ValueError) if ``cfg.n_batch > 0``.

        Returns
        -------
        dict
            Counts: ``mu`` ``(..., n, genes)``, ``theta`` ``(genes,)`` and, for zinb,
            ``pi_logits`` ``(..., n, genes)``.  Gaussians: ``mean`` ``(..., n, genes)`` and
            ``var``, ``(genes,)`` if learned or ``(..., n, 1)`` if fixed.
        """
        s = self._onehot(batch)
        if s is not None:
            s = s.expand(*z.shape[:-1], s.shape[-1])
            z = torch.cat([z, s], dim=-1)
        lik = self.cfg.likelihood
        with self._mixed():
            h = self.decoder(z.reshape(-1, z.shape[-1])).reshape(*z.shape[:-1], -1)
            out = self._up(self.px_out(h))
            pi_logits = self._up(self.px_dropout(h)) if lik == "zinb" else None
        if lik in COUNT_LIKELIHOODS:
            # mean = observed library size x softmax proportions (scVI's parameterisation)
            params = {"mu": library * torch.softmax(out, dim=-1), "theta": self.px_log_theta.exp()}
            if lik == "zinb":
                params["pi_logits"] = pi_logits
            return params
        var = self.px_log_var.exp() + 1e-4 if lik == "gaussian" else torch.full_like(out[..., :1], self.cfg.fixed_var)
        return {"mean": out, "var": var}

    def log_px(self, x, params: dict) -> torch.Tensor:
        """Elementwise log p(x|z) under the configured likelihood.

        Parameters
        ----------
        x
            ``(n, genes)`` observations on the modelled scale (not log1p-transformed).
        params
            Decoder parameters from :meth:`generative`.

        Returns
        -------
        torch.Tensor
            ``(..., n, genes)`` log-probabilities in nats.
        """
        lik = self.cfg.likelihood
        if lik == "nb":
            return log_nb(x, params["mu"], params["theta"])
        if lik == "zinb":
            return log_zinb(x, params["mu"], params["theta"], params["pi_logits"])
        return log_normal(x, params["mean"], params["var"])

    def log_px_rows(self, x, params: dict) -> torch.Tensor:
        """log p(x|z) summed over genes: :func:`log_nb_rows` for NB, else :meth:`log_px`.

        While a fit with ``compile_likelihood`` runs, NB and ZINB take
        :func:`~cellvae.model.fastpath.compiled_log_px_rows` instead (the same numbers to
        float32 precision).

        Parameters
        ----------
        x, params
            As for :meth:`log_px`.

        Returns
        -------
        torch.Tensor
            ``(..., n)`` log-probabilities in nats.
        """
        if self.compile_likelihood and self.cfg.likelihood in COUNT_LIKELIHOODS and params["mu"].dim() == 2:
            return compiled_log_px_rows(self.cfg.likelihood, x, params)
        if self.cfg.likelihood == "nb":
            return log_nb_rows(x, params["mu"], params["theta"])
        return self.log_px(x, params).sum(-1)

    def loss(self, x, inf: dict, gen: dict, *, beta: float | None = None) -> LossOutput:
        """Negative ELBO with KL weight beta (Eq. T2, T9); per-cell terms summed over genes.

        Parameters
        ----------
        x
            ``(n, genes)`` observations.
        inf, gen
            Outputs of :meth:`inference` (one z sample) and of :meth:`generative` for it.
        beta
            KL weight of the minimised loss; ``None`` uses ``cfg.beta``.

        Returns
        -------
        LossOutput
            The scalar loss (averaged over cells; each term also averaged over its elements
            as ``cfg.reduction`` says) and the unweighted ``(n,)`` ``recon`` and ``kl`` in nats.
        """
        beta = self.cfg.beta if beta is None else beta
        kl_dims = kl_normal_std(inf["qz_m"], inf["qz_v"])      # (n, latent)
        kl = kl_dims.sum(-1)
        if self.cfg.reduction != "sum":
            # The original study's objective ("mean"): both terms averaged, the reconstruction over
            # genes and the KL over latent dimensions, i.e. T9 with beta_eff = G/d scaled by 1/G.
            # Its ablations average one term only: "mean_recon" (beta_eff = G), "mean_kl" (1/d).
            log_px = self.log_px(x, gen)                      # (n, genes)
            rec = -log_px.mean(-1) if self.cfg.reduction != "mean_kl" else -log_px.sum(-1)
            klt = kl_dims.mean(-1) if self.cfg.reduction != "mean_recon" else kl
            return LossOutput(loss=(rec + beta * klt).mean(), recon=-log_px.sum(-1), kl=kl)
        recon = -self.log_px_rows(x, gen)                      # one-sample MC of E_q[-log p(x|z)]
        return LossOutput(loss=(recon + beta * kl).mean(), recon=recon, kl=kl)

    def forward(self, x, batch=None, *, beta: float | None = None) -> LossOutput:
        """Encode, decode one reparameterised z sample per cell and score it with :meth:`loss`.

        Parameters
        ----------
        x
            ``(n, genes)`` observations.
        batch
            ``(n,)`` integer batch codes; required (else ValueError) if ``cfg.n_batch > 0``.
        beta
            KL weight of the minimised loss; ``None`` uses ``cfg.beta``.

        Returns
        -------
        LossOutput
            Loss, per-cell ``recon`` and ``kl`` (nats) for this minibatch.
        """
        inf = self.inference(x, batch)
        gen = self.generative(inf["z"], inf["library"], batch)
        return self.loss(x, inf, gen, beta=beta)

    @torch.no_grad()
    def log_importance_weights(self, x, batch=None, *, k: int = 50) -> torch.Tensor:
        """(k, n) log w = log p(x|z) + log p(z) - log q(z|x), z ~ q: the IWAE terms (Eq. T10).

        Parameters
        ----------
        x
            ``(n, genes)`` observations.
        batch
            ``(n,)`` integer batch codes; required (else ValueError) if ``cfg.n_batch > 0``.
        k
            Importance samples per cell.

        Returns
        -------
        torch.Tensor
            ``(k, n)`` log importance weights in nats, computed without gradients.
        """
        inf = self.inference(x, batch, n_samples=k)
        z = inf["z"] if k > 1 else inf["z"][None]
        gen = self.generative(z, inf["library"], batch)
        log_px = self.log_px_rows(x, gen)
        log_pz = log_normal(z, torch.zeros_like(z), torch.ones_like(z)).sum(-1)
        log_qz = log_normal(z, inf["qz_m"], inf["qz_v"]).sum(-1)
        return log_px + log_pz - log_qz
