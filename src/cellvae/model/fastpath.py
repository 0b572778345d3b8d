"""The opt-in fast paths of a fit: bfloat16 mixed precision and a compiled likelihood.

Both are off by default (``TrainConfig.precision = "32"``, ``compile_likelihood = False``), and
then nothing here runs: the default fit computes exactly what it did before they existed.

- **Mixed precision** (``precision="bf16-mixed"``): the encoder's and decoder's layers run under
  ``torch.autocast(device, bfloat16)``; their outputs are cast back to float32, so the likelihood,
  the KL and the optimiser state (float32 weights, Adam's moments) stay in float32.  Only the
  training fit runs so; :meth:`VAE.inference` and evaluation after the fit run in float32.
- **Compiled likelihood** (``compile_likelihood=True``): the NB and ZINB per-cell log-likelihoods
  of the training loss go through ``torch.compile``, which fuses their elementwise passes into
  one loop.  The ``lgamma`` terms, which vanish where x = 0, stay on the non-zero counts on a
  CPU, as in :func:`~cellvae.model.distributions.log_nb_rows`.  Compiled kernels are cached on
  disk (under ``$CELLVAE_CACHE/inductor`` unless ``TORCHINDUCTOR_CACHE_DIR`` is set), and where
  compiling fails (no compiler, an unsupported device) the eager form runs instead, silently.

``benchmarks/likelihood.py`` measures the forms against each other; equation numbers refer to
the theory chapter (``book/theory.md``).
"""

from __future__ import annotations

import contextlib
import os
import warnings

import torch
import torch.nn.functional as F

from .._io import cache_dir
from .distributions import log_nb, log_zinb

# Held-out IWAE of a bf16-mixed fit against float32 (docs/measurements.md, "Mixed precision"):
# the likelihoods not shown within 0.5 nats/cell, and what was measured; the fit warns with it.
_UNMEASURED = "not yet measured against the bound of 0.5 nats/cell of held-out IWAE from float32"
BF16_OUTSIDE_BOUND: dict[str, str] = {
    "zinb": ("on the shipped starter (hidden 128, 30 epochs) one of two fits lost 0.83 nats/cell of "
             "held-out IWAE against float32, outside the bound of 0.5"),
    "gaussian": _UNMEASURED,
    "gaussian_fixed": _UNMEASURED,
}


def _gammas(x, theta):
    """Per-cell sum of lgamma(x + theta) - lgamma(theta) - lgamma(x + 1) over the non-zeros (Eq. T6)."""
    rows, cols = x.nonzero(as_tuple=True)
    xv = x[rows, cols]
    g = (torch.lgamma(xv + theta.index_select(0, cols)) - torch.lgamma(theta).index_select(0, cols)
         - torch.lgamma(xv + 1))
    return torch.zeros(x.shape[0], dtype=g.dtype, device=x.device).index_add(0, rows, g)


def _nb_terms(x, mu, theta, eps: float = 1e-8):
    """Eq. T6 without its lgamma terms, summed over genes."""
    log_theta_mu = torch.log(theta + mu + eps)
    return (theta * (torch.log(theta + eps) - log_theta_mu) + x * (torch.log(mu + eps) - log_theta_mu)).sum(-1)


def _zinb_terms(x, mu, theta, pi_logits, eps: float = 1e-8):
    """Eq. T7 without the NB's lgamma terms (they live only where x > 0), summed over genes."""
    softplus_pi = F.softplus(-pi_logits)
    log_theta_mu = torch.log(theta + mu + eps)
    pi_theta_log = -pi_logits + theta * (torch.log(theta + eps) - log_theta_mu)
    case_zero = F.softplus(pi_theta_log) - softplus_pi
    case_nonzero = -softplus_pi + pi_theta_log + x * (torch.log(mu + eps) - log_theta_mu)
    return torch.where(x < 1e-8, case_zero, case_nonzero).sum(-1)


def _nb_dense(x, mu, theta):
    return log_nb(x, mu, theta).sum(-1)


def _zinb_dense(x, mu, theta, pi_logits):
    return log_zinb(x, mu, theta, pi_logits).sum(-1)


class _Compiled:
    """``torch.compile(fn)`` on first call, or ``fn`` itself for good once compiling fails."""

    def __init__(self, fn):
        self.fn, self.compiled = fn, None

    def __call__(self, *args):
        if self.compiled is None:
            os.environ.setdefault("TORCHINDUCTOR_CACHE_DIR", str(cache_dir() / "inductor"))
            try:
                self.compiled = torch.compile(self.fn)
            except Exception:  # noqa: BLE001  (no inductor in this torch)
                self.compiled = self.fn
        if self.compiled is not self.fn:
            try:
                with warnings.catch_warnings():  # a (re)compile's own deprecation notices
                    warnings.simplefilter("ignore")
                    return self.compiled(*args)
            except Exception:  # noqa: BLE001  (no C++ compiler, no triton, an unsupported op ...)
                self.compiled = self.fn
        return self.fn(*args)


_NB_TERMS, _ZINB_TERMS = _Compiled(_nb_terms), _Compiled(_zinb_terms)
_NB_DENSE, _ZINB_DENSE = _Compiled(_nb_dense), _Compiled(_zinb_dense)


def compiled_log_px_rows(likelihood: str, x, params: dict) -> torch.Tensor:
    """Per-cell log p(x|z) of a count likelihood, summed over genes, through compiled kernels.

    Equal to ``log_nb(...).sum(-1)`` (Eq. T6) or ``log_zinb(...).sum(-1)`` (Eq. T7) to float32
    precision.  On a CPU the dense terms are compiled and the lgamma terms are summed over the
    non-zero counts only; elsewhere the whole dense form is compiled (``nonzero`` would stall a GPU).

    Parameters
    ----------
    likelihood
        ``"nb"`` or ``"zinb"``.
    x
        ``(n, genes)`` counts.
    params
        Decoder parameters: ``mu`` ``(n, genes)``, ``theta`` ``(genes,)`` and, for zinb, ``pi_logits``.

    Returns
    -------
    torch.Tensor
        ``(n,)`` log-probabilities in nats.
    """
    args = (x, params["mu"], params["theta"]) + ((params["pi_logits"],) if likelihood == "zinb" else ())
    if not x.is_cpu:
        return (_ZINB_DENSE if likelihood == "zinb" else _NB_DENSE)(*args)
    return (_ZINB_TERMS if likelihood == "zinb" else _NB_TERMS)(*args) + _gammas(x, params["theta"])


def native_bf16(device: torch.device) -> bool:
    """Whether ``device`` multiplies bfloat16 matrices in hardware (else they are emulated, slowly).

    Parameters
    ----------
    device
        The training device.

    Returns
    -------
    bool
        CUDA: ``torch.cuda.is_bf16_supported()``; CPU: AVX-512 BF16 or AMX; other devices: False.
    """
    if device.type == "cuda":
        return torch.cuda.is_bf16_supported()
    if device.type == "cpu":
        cpu = torch.cpu
        return any(getattr(cpu, f, lambda: False)() for f in ("_is_avx512_bf16_supported", "_is_amx_tile_supported"))
    return False


@contextlib.contextmanager
def fast_path(module, *, precision: str, compile_likelihood: bool, device: torch.device):
    """Switch ``module``'s fast paths on for the block, saying at entry what they cost.

    Parameters
    ----------
    module
        The :class:`~cellvae.model.module.VAE` being fitted; its ``autocast`` and
        ``compile_likelihood`` attributes are set for the block and restored after it.
    precision
        ``TrainConfig.precision``: ``"32"`` or ``"bf16-mixed"``.
    compile_likelihood
        ``TrainConfig.compile_likelihood``; only NB and ZINB have a compiled form.
    device
        The training device.

    Yields
    ------
    None
    """
    before = module.autocast, module.compile_likelihood
    if precision == "bf16-mixed":
        if not native_bf16(device):
            warnings.warn(f"precision='bf16-mixed': {device.type} has no native bfloat16 matmuls here, "
                          "so they are emulated and the fit runs slower than in float32", stacklevel=4)
        outside = BF16_OUTSIDE_BOUND.get(module.cfg.likelihood)
        if outside:
            warnings.warn(f"precision='bf16-mixed' with the {module.cfg.likelihood} likelihood: {outside}",
                          stacklevel=4)
        module.autocast = device.type
    module.compile_likelihood = compile_likelihood
    try:
        yield
    finally:
        module.autocast, module.compile_likelihood = before
