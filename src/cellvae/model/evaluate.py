"""Per-cell ELBO, the IWAE held-out likelihood, the active-unit diagnostic and replicate data."""

from __future__ import annotations

import numpy as np
import torch

from .batches import as_tensor_rows, minibatches
from .distributions import sample_nb, sample_zinb
from .module import VAE


def _batches(module: VAE, x, batch, batch_size: int):
    device = next(module.parameters()).device
    for rows in minibatches(x.shape[0], batch_size, None):
        bb = None if batch is None else torch.as_tensor(np.asarray(batch)[rows]).to(device)
        yield rows, as_tensor_rows(x, rows, device), bb


@torch.no_grad()
def evaluate(module: VAE, x, *, batch=None, batch_size: int = 1024, seed: int = 0) -> dict:
    """Per-cell ELBO, reconstruction and KL (nats, beta = 1, one seeded z sample).

    Returns a dict of ``(n,)`` arrays ``elbo``, ``recon``, ``kl`` and their means
    ``elbo_mean``, ``recon_mean``, ``kl_mean``.  ELBO = -(recon + KL) <= log p(x).

    Parameters
    ----------
    module
        A trained model; it is left in eval mode.
    x
        Cells x genes matrix, CSR or dense, on the scale the model was trained on;
        rows are densified one minibatch at a time.
    batch
        ``(n,)`` integer batch codes; required if the model is batch-conditional.
    batch_size
        Cells per minibatch.
    seed
        Seeds the torch RNG for the z samples (the CPU RNG state is restored after).

    Returns
    -------
    dict
        ``elbo``, ``recon``, ``kl``: ``(n,)`` float64 arrays in nats; ``elbo_mean``,
        ``recon_mean``, ``kl_mean``: their means as floats.
    """
    module.eval()
    out = {"elbo": [], "recon": [], "kl": []}
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        for _, xb, bb in _batches(module, x, batch, batch_size):
            lo = module(xb, bb, beta=1.0)
            out["elbo"].append(lo.elbo.cpu().numpy())
            out["recon"].append(lo.recon.cpu().numpy())
            out["kl"].append(lo.kl.cpu().numpy())
    res = {k: np.concatenate(v).astype(np.float64) for k, v in out.items()}
    res.update({f"{k}_mean": float(v.mean()) for k, v in list(res.items())})
    return res


@torch.no_grad()
def iwae(module: VAE, x, *, batch=None, k: int = 50, batch_size: int = 256, seed: int = 0) -> np.ndarray:
    """Per-cell importance-weighted bound log (1/k) sum_i w_i (Burda et al. 2016).

    It tightens towards log p(x) as k grows and equals the ELBO in expectation at k = 1.

    Parameters
    ----------
    module
        A trained model; it is left in eval mode.
    x
        Cells x genes matrix, CSR or dense, on the scale the model was trained on;
        rows are densified one minibatch at a time.
    batch
        ``(n,)`` integer batch codes; required if the model is batch-conditional.
    k
        Importance samples per cell.
    batch_size
        Cells per minibatch.  Memory grows with ``k * batch_size * genes``.
    seed
        Seeds the torch RNG for the z samples (the CPU RNG state is restored after).

    Returns
    -------
    np.ndarray
        ``(n,)`` float64 bound on log p(x) per cell, in nats.

    Raises
    ------
    ValueError
        If ``k < 1``.
    """
    if k < 1:
        raise ValueError(f"k must be >= 1, got {k}")
    module.eval()
    out = []
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        for _, xb, bb in _batches(module, x, batch, batch_size):
            logw = module.log_importance_weights(xb, bb, k=k)
            out.append((torch.logsumexp(logw, 0) - np.log(k)).cpu().numpy())
    return np.concatenate(out).astype(np.float64)


@torch.no_grad()
def latent_mean(module: VAE, x, *, batch=None, batch_size: int = 2048) -> np.ndarray:
    """E[z|x], the posterior means, as an (n, n_latent) float32 array.

    Parameters
    ----------
    module
        A trained model; it is left in eval mode.
    x
        Cells x genes matrix, CSR or dense, on the scale the model was trained on;
        rows are densified one minibatch at a time.
    batch
        ``(n,)`` integer batch codes; required if the model is batch-conditional.
    batch_size
        Cells per minibatch.

    Returns
    -------
    np.ndarray
        ``(n, n_latent)`` float32 posterior means ``qz_m`` (no sampling involved).
    """
    module.eval()
    return np.concatenate([
        module.inference(xb, bb)["qz_m"].cpu().numpy()
        for _, xb, bb in _batches(module, x, batch, batch_size)
    ]).astype(np.float32)


def active_units(mu: np.ndarray, *, threshold: float = 0.01) -> tuple[int, np.ndarray]:
    """Count latent dimensions with Cov_x(E[z|x]) > threshold (Burda et al. 2016).

    Parameters
    ----------
    mu
        Posterior means, cells x latent dimensions.
    threshold
        Variance across cells above which a latent dimension counts as active.

    Returns
    -------
    n_active : int
        The number of active units.
    var : np.ndarray
        ``(n_latent,)`` float64 variance of each dimension's mean across cells.
    """
    var = np.var(np.asarray(mu, dtype=np.float64), axis=0)
    return int((var > threshold).sum()), var


def bootstrap_mean(values: np.ndarray, *, n_boot: int = 1000, seed: int = 0) -> tuple[float, float]:
    """Mean and its bootstrap standard error over cells.

    Parameters
    ----------
    values
        ``(n,)`` per-cell values, e.g. the ``elbo`` from :func:`evaluate`.
    n_boot
        Number of resamples of the cells, drawn with replacement.
    seed
        Seeds the resampling.

    Returns
    -------
    mean : float
        The mean of ``values``.
    se : float
        Standard deviation (ddof=1) of the ``n_boot`` resampled means.
    """
    values = np.asarray(values, dtype=np.float64)
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, len(values), (n_boot, len(values)))
    return float(values.mean()), float(values[idx].mean(1).std(ddof=1))


@torch.no_grad()
def posterior_predictive(module: VAE, x, *, batch=None, n_samples: int = 1, batch_size: int = 1024,
                         seed: int = 0) -> np.ndarray:
    """Replicate data x' ~ p(x | z), z ~ q(z | x), for posterior predictive checks.

    The count likelihoods use each cell's observed library size, as in training; a Gaussian
    model's replicates are on the scale it was trained on (see
    :func:`cellvae.data.get_variant`).

    Parameters
    ----------
    module
        A trained model; it is left in eval mode.
    x
        Cells x genes matrix, CSR or dense, on the scale the model was trained on.
    batch
        ``(n,)`` integer batch codes; required if the model is batch-conditional.
    n_samples
        Replicates per cell (one z draw and one x draw each).
    batch_size
        Cells per minibatch.
    seed
        Seeds the torch RNG (the CPU RNG state is restored after).

    Returns
    -------
    np.ndarray
        ``(n_samples, n, genes)`` float32; whole numbers for NB and ZINB.
    """
    module.eval()
    lik, out = module.cfg.likelihood, []
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        for _, xb, bb in _batches(module, x, batch, batch_size):
            inf = module.inference(xb, bb, n_samples=n_samples)
            z = inf["z"] if n_samples > 1 else inf["z"][None]
            p = module.generative(z, inf["library"], bb)
            if lik == "nb":
                draw = sample_nb(p["mu"], p["theta"])
            elif lik == "zinb":
                draw = sample_zinb(p["mu"], p["theta"], p["pi_logits"])
            else:
                draw = p["mean"] + p["var"].sqrt() * torch.randn_like(p["mean"])
            out.append(draw.cpu().numpy().astype(np.float32))
    return np.concatenate(out, axis=1)
