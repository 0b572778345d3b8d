"""Would a data-based start shorten the Gaussian-on-log-data runs? (Measured; not adopted.)

Run on demand (never in the tests):

    .venv/bin/python benchmarks/gaussian_init.py

The log-data Gaussians are the book's longest runs (about 200 epochs to early stopping, against
40-90 for NB), because the per-gene log-variance starts at 0 and moves about one learning rate
per step.  This trains M1 (latent 10, hidden 256) on the book's default data under the book's
training rule three times, one torch thread each: from the default start, with the decoder's
output bias set to each gene's mean, and with its log-variance also set to each gene's log
variance.  It prints the epochs trained, the best epoch, and the validation ELBO and KL per
cell at the best epoch.
"""

from __future__ import annotations

import numpy as np
import torch

from cellvae.data import get_variant
from cellvae.model import VAEConfig
from cellvae.model.module import VAE
from cellvae.model.trainer import train
from cellvae.study.runner.bookdata import book_data
from cellvae.study.runner.grid import BOOK_TRAIN


def fit(x, start: str) -> dict:
    """One run from ``start`` ("default", "mean" or "mean+variance"); its summary."""
    torch.manual_seed(0)
    m = VAE(VAEConfig(n_input=x.shape[1], n_latent=10, n_hidden=256, likelihood="gaussian"))
    dense = x.toarray()
    with torch.no_grad():
        if start != "default":
            m.px_out.bias.copy_(torch.from_numpy(dense.mean(0)))
        if start == "mean+variance":
            m.px_log_var.copy_(torch.from_numpy(np.log(dense.var(0) + 1e-4)))
    res = train(m, x, config=BOOK_TRAIN)
    best = res.history[res.best_epoch]
    return {"epochs": len(res.history), "best": res.best_epoch, "elbo": best["val_elbo"],
            "kl": best["val_kl"], "seconds": res.seconds}


def main() -> None:
    torch.set_num_threads(1)
    x = get_variant(book_data(), "processed")
    print("| start | epochs | best epoch | validation ELBO, nats/cell | KL, nats/cell | seconds |")
    print("|---|---|---|---|---|---|")
    for start in ("default", "mean", "mean+variance"):
        r = fit(x, start)
        print(f"| {start} | {r['epochs']} | {r['best']} | {r['elbo']:.1f} | {r['kl']:.1f} | "
              f"{r['seconds']:.0f} |", flush=True)


if __name__ == "__main__":
    main()
