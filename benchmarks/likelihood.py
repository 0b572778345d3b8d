"""The NB and ZINB log-likelihoods, forward and backward, in each form: which one is fastest here.

Run on demand (never in the tests):

    .venv/bin/python benchmarks/likelihood.py                  # CPU, batch 128 and 512
    .venv/bin/python benchmarks/likelihood.py --device cuda

The shape of the scvi-tools comparison (2,000 genes of simulated BMMC counts).  Each form takes
the decoder's logits, so softmax and its gradient are timed with it, as in a training step, and
the rounds interleave the forms, so a machine shared with other work slows them alike.  Forms:

- ``eager``: today's training path (NB: :func:`~cellvae.model.distributions.log_nb_rows`, its
  lgamma terms on the non-zero counts only; ZINB: ``log_zinb(...).sum(-1)``);
- ``compiled terms + sparse lgamma``: ``torch.compile`` of the terms without lgamma, and the
  lgamma terms on the non-zeros (what ``compile_likelihood=True`` runs on a CPU);
- ``compiled dense``: ``torch.compile`` of the whole elementwise form (what it runs on a GPU).

Prints each form's first call (the compile; run twice to see the on-disk cache at work), the
largest difference from the eager per-cell value, and the median time per call with its ratio
to eager.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from cellvae.data import get_variant, prepare, simulate_bmmc
from cellvae.model.distributions import log_nb_rows, log_zinb
from cellvae.model.fastpath import _NB_DENSE, _NB_TERMS, _ZINB_DENSE, _ZINB_TERMS, _gammas


def forms(lik: str) -> dict:
    """Name -> f(x, mu, theta[, pi_logits]) giving per-cell log-likelihoods."""
    if lik == "nb":
        return {"eager": log_nb_rows, "compiled terms + sparse lgamma": lambda x, m, t: _NB_TERMS(x, m, t) + _gammas(x, t),
                "compiled dense": _NB_DENSE}
    return {"eager": lambda x, m, t, p: log_zinb(x, m, t, p).sum(-1),
            "compiled terms + sparse lgamma": lambda x, m, t, p: _ZINB_TERMS(x, m, t, p) + _gammas(x, t),
            "compiled dense": _ZINB_DENSE}


def step(f, x, logits, lib, log_theta, pi) -> tuple[torch.Tensor, torch.Tensor]:
    """One forward and backward from the logits; the per-cell values and the logits' gradient."""
    logits, log_theta = logits.detach().requires_grad_(True), log_theta.detach().requires_grad_(True)
    args = (x, lib * torch.softmax(logits, -1), log_theta.exp())
    out = f(*args, pi.detach().requires_grad_(True)) if pi is not None else f(*args)
    out.sum().backward()
    if x.is_cuda:
        torch.cuda.synchronize()
    return out.detach(), logits.grad


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--batch", type=int, nargs="+", default=[128, 512])
    p.add_argument("--genes", type=int, default=2000)
    p.add_argument("--rounds", type=int, default=10)
    p.add_argument("--device", default="cpu")
    a = p.parse_args()
    dev = torch.device(a.device)
    counts = get_variant(prepare(simulate_bmmc(4000, 2 * a.genes, seed=0), n_top_genes=a.genes), "raw")
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, {dev}; "
          f"{100 * counts.nnz / np.prod(counts.shape):.0f}% non-zero counts")
    gen = torch.Generator().manual_seed(0)
    for b in a.batch:
        rows = np.sort(np.random.default_rng(b).choice(counts.shape[0], b, replace=False))
        x = torch.from_numpy(counts[rows].toarray()).float().to(dev)
        logits = (torch.randn(b, a.genes, generator=gen) * 0.5).to(dev)
        log_theta = (torch.randn(a.genes, generator=gen) * 0.3).to(dev)
        pi = (torch.randn(b, a.genes, generator=gen) - 2).to(dev)
        for lik in ("nb", "zinb"):
            fs, extra = forms(lik), pi if lik == "zinb" else None
            ref = step(fs["eager"], x, logits, x.sum(-1, keepdim=True), log_theta, extra)
            times = {n: [] for n in fs}
            for n, f in fs.items():
                t0 = time.perf_counter()
                out, grad = step(f, x, logits, x.sum(-1, keepdim=True), log_theta, extra)
                rel = float(((out - ref[0]) / ref[0]).abs().max())
                print(f"batch {b} {lik} {n}: first call {time.perf_counter() - t0:.2f} s; per-cell value "
                      f"off by {rel:.1e} (relative), logits' gradient by {float((grad - ref[1]).abs().max()):.1e}")
            for _ in range(a.rounds):
                for n, f in fs.items():
                    t0 = time.perf_counter()
                    for _ in range(3):
                        step(f, x, logits, x.sum(-1, keepdim=True), log_theta, extra)
                    times[n].append((time.perf_counter() - t0) / 3 * 1e3)
            base = np.median(times["eager"])
            for n, v in times.items():
                print(f"| {b} | {lik} | {n} | {np.median(v):.2f} ms | {np.median(v) / base:.2f}x |")


if __name__ == "__main__":
    main()
