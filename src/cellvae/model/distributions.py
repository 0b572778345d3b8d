"""Log-likelihoods of the decoders and the Gaussian KL, as plain tensor functions.

Equation numbers (Eq. T4 ...) refer to the report's theory chapter (``book/theory.md``).
:func:`log_nb_rows` is the training path of the NB decoder: it sums over genes and
evaluates the ``lgamma`` terms only where ``x > 0`` (they vanish where ``x = 0``, which
is most entries of a count matrix); :func:`log_nb` is the elementwise reference.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

_LOG_2PI = math.log(2 * math.pi)


def log_nb(x, mu, theta, eps: float = 1e-8):
    """log NB(x; mean mu, inverse dispersion theta), elementwise (Eq. T6).

    log Gamma(x+theta) - log Gamma(theta) - log x! + theta log(theta/(theta+mu))
    + x log(mu/(theta+mu)).

    Parameters
    ----------
    x
        Counts, e.g. ``(n, genes)``.
    mu
        NB means, broadcastable to ``x``.
    theta
        Inverse dispersions (> 0), e.g. per gene ``(genes,)``.
    eps
        Added inside the logarithms for numerical stability.

    Returns
    -------
    torch.Tensor
        log-probabilities in nats, shaped like the broadcast inputs.
    """
    log_theta_mu = torch.log(theta + mu + eps)
    return (
        theta * (torch.log(theta + eps) - log_theta_mu)
        + x * (torch.log(mu + eps) - log_theta_mu)
        + torch.lgamma(x + theta) - torch.lgamma(theta) - torch.lgamma(x + 1)
    )


def log_zinb(x, mu, theta, pi_logits, eps: float = 1e-8):
    """log ZINB with zero-inflation probability sigmoid(pi_logits), elementwise (Eq. T7).

    x = 0: log(pi + (1-pi) NB(0));  x > 0: log(1-pi) + log NB(x).  Computed in
    logit space for stability, as in scvi-tools.

    Parameters
    ----------
    x, mu, theta, eps
        As in :func:`log_nb`.
    pi_logits
        Logits of the zero-inflation probability, broadcastable to ``x``.
    """
    softplus_pi = F.softplus(-pi_logits)
    log_theta_eps = torch.log(theta + eps)
    log_theta_mu = torch.log(theta + mu + eps)
    pi_theta_log = -pi_logits + theta * (log_theta_eps - log_theta_mu)
    case_zero = F.softplus(pi_theta_log) - softplus_pi
    case_nonzero = (
        -softplus_pi + pi_theta_log + x * (torch.log(mu + eps) - log_theta_mu)
        + torch.lgamma(x + theta) - torch.lgamma(theta) - torch.lgamma(x + 1)
    )
    return torch.where(x < 1e-8, case_zero, case_nonzero)


def log_normal(x, mean, var):
    """log N(x; mean, var), elementwise (Eq. T5).

    Parameters
    ----------
    x, mean, var
        Observations, means and variances (> 0), all broadcastable together.
    """
    return -0.5 * (_LOG_2PI + torch.log(var) + (x - mean) ** 2 / var)


def kl_normal_std(mean, var):
    """KL(N(mean, diag var) || N(0, I)) per dimension (Eq. T4):
    0.5 (var + mean^2 - 1 - log var).

    Parameters
    ----------
    mean, var
        Posterior means and variances (> 0), e.g. ``(n, n_latent)``.
    """
    return 0.5 * (var + mean**2 - 1.0 - torch.log(var))


def log_nb_rows(x, mu, theta, eps: float = 1e-8):
    """Per-cell log NB(x; mu, theta) summed over genes (Eq. T6), on a CPU lgamma only on non-zeros.

    Equal to ``log_nb(x, mu, theta).sum(-1)`` to float32 precision.  The terms
    ``lgamma(x + theta) - lgamma(theta) - lgamma(x + 1)`` are zero where ``x = 0``, and do
    not depend on ``mu``, so they are evaluated once per non-zero entry (and shared by
    every z sample when ``mu`` has a leading sample dimension).

    Parameters
    ----------
    x
        ``(n, genes)`` counts.
    mu
        NB means, ``(n, genes)`` or ``(k, n, genes)``.
    theta
        ``(genes,)`` inverse dispersions (> 0).
    eps
        Added inside the logarithms for numerical stability.

    Returns
    -------
    torch.Tensor
        ``(n,)`` or ``(k, n)`` log-probabilities in nats.
    """
    if not x.is_cpu:  # on a GPU the dense form is cheap, and nonzero() would stall it each step
        return log_nb(x, mu, theta, eps).sum(-1)
    log_theta_mu = torch.log(theta + mu + eps)
    dense = (theta * (torch.log(theta + eps) - log_theta_mu) + x * (torch.log(mu + eps) - log_theta_mu)).sum(-1)
    rows, cols = x.nonzero(as_tuple=True)
    xv = x[rows, cols]
    # lgamma(theta) is taken once per gene and gathered, so its backward (digamma) is too.
    # index_select, not theta[cols]: its backward is index_add, which is deterministic on
    # CPU, where indexing's (index_put_ with accumulate) is not with 2 or more threads.
    gammas = (torch.lgamma(xv + theta.index_select(0, cols)) - torch.lgamma(theta).index_select(0, cols)
              - torch.lgamma(xv + 1))
    return dense + torch.zeros(x.shape[0], dtype=dense.dtype, device=x.device).index_add(0, rows, gammas)


def sample_nb(mu, theta):
    """Draws from NB(mean mu, inverse dispersion theta) (Eq. T6) as a Gamma-Poisson mixture.

    rate ~ Gamma(shape theta, rate theta / mu), x ~ Poisson(rate); uses the torch RNG.

    Parameters
    ----------
    mu
        NB means, e.g. ``(..., n, genes)``.
    theta
        Inverse dispersions (> 0), broadcastable to ``mu``.

    Returns
    -------
    torch.Tensor
        Counts shaped like ``mu`` (float dtype, whole numbers).
    """
    theta = theta.expand_as(mu)
    rate = torch.distributions.Gamma(theta, theta / mu.clamp_min(1e-8)).sample()
    return torch.poisson(rate)


def sample_zinb(mu, theta, pi_logits):
    """Draws from the ZINB of Eq. T7: an NB draw, set to 0 with probability sigmoid(pi_logits).

    Parameters
    ----------
    mu, theta
        As in :func:`sample_nb`.
    pi_logits
        Logits of the zero-inflation probability, broadcastable to ``mu``.

    Returns
    -------
    torch.Tensor
        Counts shaped like ``mu``.
    """
    x = sample_nb(mu, theta)
    return torch.where(torch.rand_like(x) < torch.sigmoid(pi_logits), torch.zeros_like(x), x)
