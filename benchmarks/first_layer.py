"""Would a sparse encoder input speed up the book's training steps? (Measured; not adopted.)

Run on demand (never in the tests):

    .venv/bin/python benchmarks/first_layer.py

The book's runs train on its default data (3,000 simulated cells x 1,000 HVGs, about 8% of the
counts non-zero), minibatches of 128, one torch thread per run.  The encoder's first linear map
and its weight gradient are two of the step's five large matmuls, and both could skip the
zeros: ``embedding_bag`` over the non-zero entries computes ``x @ W.T`` for the forward, and the
same kernel over the entries sorted by gene gives the weight gradient.  This prints, per hidden
width, the milliseconds of a whole training step (forward, loss, backward, clipping, Adam) with
the dense layer and with the sparse one, over the same minibatches, three repeats each.  The
sparse layer keeps ``nn.Linear``'s (hidden x genes) weight, so it transposes the weight for the
forward and the gradient back, as a drop-in replacement would.
"""

from __future__ import annotations

import time

import numpy as np
import torch
import torch.nn.functional as F

from cellvae.data import get_variant
from cellvae.model import TrainConfig, VAEConfig
from cellvae.model.batches import as_tensor_rows
from cellvae.model.module import VAE
from cellvae.model.trainer import adam
from cellvae.study.runner.bookdata import book_data


class SparseInputLinear(torch.autograd.Function):
    """``x @ weight.T`` for a CSR ``x`` (crow, col, val), with the weight gradient only."""

    @staticmethod
    def forward(ctx, weight, crow, col, val):
        ctx.save_for_backward(crow, col, val)
        ctx.genes = weight.shape[1]
        return F.embedding_bag(col, weight.t().contiguous(), crow, mode="sum",
                               per_sample_weights=val, include_last_offset=True)

    @staticmethod
    def backward(ctx, grad):
        crow, col, val = ctx.saved_tensors
        rows = torch.repeat_interleave(torch.arange(len(crow) - 1), crow.diff())
        by_gene = torch.argsort(col, stable=True)
        starts = torch.zeros(ctx.genes + 1, dtype=torch.long)
        starts[1:] = torch.bincount(col, minlength=ctx.genes).cumsum(0)
        gw = F.embedding_bag(rows[by_gene], grad.contiguous(), starts, mode="sum",
                             per_sample_weights=val[by_gene], include_last_offset=True)
        return gw.t().contiguous(), None, None, None


def sparse_inference(m: VAE, block) -> dict:
    """``m.inference`` with the first encoder layer on the CSR minibatch ``block``."""
    crow, col = (torch.from_numpy(a.astype(np.int64)) for a in (block.indptr, block.indices))
    val = torch.from_numpy(block.data)
    val = torch.log1p(val) if m.cfg.input_transform == "log1p" else val
    first = m.encoder[0]
    h = m.encoder[1:](SparseInputLinear.apply(first.weight, crow, col, val) + first.bias)
    qz_m, qz_v = m.z_mean(h), F.softplus(m.z_var(h)) + 1e-4
    z = qz_m + qz_v.sqrt() * torch.randn_like(qz_m)
    library = torch.from_numpy(np.asarray(block.sum(1), dtype=np.float32))
    return {"qz_m": qz_m, "qz_v": qz_v, "z": z, "library": library}


def step_ms(x, likelihood: str, hidden: int, latent: int, *, sparse: bool, steps: int = 100) -> float:
    """Milliseconds per training step, averaged over ``steps`` after 20 warm-up steps."""
    torch.manual_seed(0)
    m = VAE(VAEConfig(n_input=x.shape[1], n_latent=latent, n_hidden=hidden, likelihood=likelihood))
    m.train()
    opt = adam(m, TrainConfig(lr=3e-3))
    rng = np.random.default_rng(0)

    def step():
        rows = rng.choice(x.shape[0], 128, replace=False)
        if sparse:
            block = x[rows]
            xb = torch.from_numpy(block.toarray())
            inf = sparse_inference(m, block)
            out = m.loss(xb, inf, m.generative(inf["z"], inf["library"]))
        else:
            out = m(as_tensor_rows(x, rows, "cpu"))
        out.sums().tolist()
        opt.zero_grad(set_to_none=True)
        out.loss.backward()
        torch.nn.utils.clip_grad_norm_(m.parameters(), 10.0)
        opt.step()

    for _ in range(20):
        step()
    t0 = time.perf_counter()
    for _ in range(steps):
        step()
    return (time.perf_counter() - t0) * 1e3 / steps


def main() -> None:
    torch.set_num_threads(1)
    adata = book_data()
    print(f"torch {torch.__version__}, 1 thread, minibatch 128")
    print("| model | non-zero | dense ms/step (3 runs) | sparse first layer ms/step (3 runs) |")
    print("|---|---|---|---|")
    for variant, lik, hidden, latent in (("raw", "nb", 256, 10), ("raw", "nb", 1024, 50),
                                         ("processed", "gaussian", 1024, 50)):
        x = get_variant(adata, variant)
        runs = {s: [step_ms(x, lik, hidden, latent, sparse=s) for _ in range(3)] for s in (False, True)}
        cells = " | ".join(", ".join(f"{v:.1f}" for v in runs[s]) for s in (False, True))
        print(f"| {lik} on {variant}, hidden {hidden}, latent {latent} | "
              f"{x.nnz / np.prod(x.shape):.1%} | {cells} |")


if __name__ == "__main__":
    main()
