"""Where one NB training step goes: CSR slicing, forward, NB loss, backward, Adam step.

Run on demand (never in the tests):

    .venv/bin/python benchmarks/profile_step.py --batch 128
    .venv/bin/python benchmarks/profile_step.py --batch 512
    .venv/bin/python benchmarks/profile_step.py --batch 128 --precision bf16-mixed --compile-likelihood

Same shape as the scvi-tools comparison: 2000 genes of simulated BMMC counts, hidden 256,
latent 10, a decoder conditioned on the 12 batches.  Prints cells/s of the whole step and
the share of each part, timed separately over the same minibatches; then the matmul
ceiling: the five large matmuls of a step (encoder forward and weight gradient, decoder
output forward, input gradient and weight gradient; genes x hidden each) timed alone, and
the cells/s a step could reach if it did nothing else.  With ``--precision bf16-mixed`` and/or
``--compile-likelihood`` the step runs under the trainer's own fast paths
(:func:`cellvae.model.fastpath.fast_path`) and the ceiling's matmuls are timed in that dtype.
"""

from __future__ import annotations

import argparse
import contextlib
import time

import numpy as np
import pandas as pd
import torch

from cellvae.data import get_variant, prepare, simulate_bmmc
from cellvae.model import TrainConfig, VAEConfig
from cellvae.model.module import VAE

try:  # the trainer's optimiser (fused Adam where torch has it)
    from cellvae.model.trainer import adam
except ImportError:  # older cellvae: plain Adam
    def adam(module, cfg):
        return torch.optim.Adam(module.parameters(), lr=cfg.lr)

try:
    from cellvae.model.batches import as_tensor_rows
except ImportError:
    from cellvae.model.trainer import as_tensor_rows


def _seconds(f, n: int = 100) -> float:
    for _ in range(5):
        f()
    t0 = time.perf_counter()
    for _ in range(n):
        f()
    return (time.perf_counter() - t0) / n


def matmul_ceiling(batch: int, genes: int, hidden: int, dtype=torch.float32) -> float:
    """Cells/s of a step that did only its five batch x genes x hidden matmuls (in ``dtype``)."""
    x, g = torch.randn(batch, genes, dtype=dtype), torch.randn(batch, genes, dtype=dtype)
    h = torch.randn(batch, hidden, dtype=dtype)
    w1, w2 = torch.randn(hidden, genes, dtype=dtype), torch.randn(genes, hidden, dtype=dtype)
    parts = [lambda: torch.nn.functional.linear(x, w1), lambda: h.t() @ x,
             lambda: torch.nn.functional.linear(h, w2), lambda: g @ w2, lambda: g.t() @ h]
    return batch / sum(_seconds(f) for f in parts)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--batch", type=int, default=128)
    p.add_argument("--cells", type=int, default=20_000)
    p.add_argument("--genes", type=int, default=2000)
    p.add_argument("--steps", type=int, default=120)
    p.add_argument("--precision", choices=("32", "bf16-mixed"), default="32")
    p.add_argument("--compile-likelihood", action="store_true")
    a = p.parse_args()
    adata = prepare(simulate_bmmc(a.cells, 2 * a.genes, seed=0), n_top_genes=a.genes)
    x = get_variant(adata, "raw")
    codes = pd.Categorical(adata.obs["batch"]).codes.astype(np.int64)
    torch.manual_seed(0)
    m = VAE(VAEConfig(n_input=a.genes, n_latent=10, n_hidden=256, likelihood="nb", n_batch=12))
    opt = adam(m, TrainConfig())
    m.train()
    parts = dict.fromkeys(["CSR slice", "encoder + decoder forward", "NB loss forward", "backward",
                           "Adam step"], 0.0)
    fast = contextlib.nullcontext()
    if a.precision != "32" or a.compile_likelihood:
        from cellvae.model.fastpath import fast_path

        fast = fast_path(m, precision=a.precision, compile_likelihood=a.compile_likelihood,
                         device=torch.device("cpu"))
    with fast:
        total = _steps(a, m, opt, x, codes, parts)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, batch {a.batch}, "
          f"precision {a.precision}{', compiled likelihood' if a.compile_likelihood else ''}: "
          f"{a.steps * a.batch / total:,.0f} cells/s")
    print("| " + " | ".join(parts) + " |")
    print("| " + " | ".join(f"{100 * v / total:.0f}%" for v in parts.values()) + " |")
    dtype = torch.bfloat16 if a.precision == "bf16-mixed" else torch.float32
    ceiling = matmul_ceiling(a.batch, a.genes, 256, dtype)
    print(f"matmul ceiling ({dtype}): {ceiling:,.0f} cells/s; this step reaches "
          f"{100 * a.steps * a.batch / total / ceiling:.0f}% of it")


def _steps(a, m, opt, x, codes, parts: dict) -> float:
    """Run the timed steps, adding each part's seconds to ``parts``; the total seconds."""
    rng = np.random.default_rng(0)
    for step in range(a.steps + 10):
        rows = np.sort(rng.choice(x.shape[0], a.batch, replace=False))
        t = [time.perf_counter()]
        xb = as_tensor_rows(x, rows, "cpu")
        bb = torch.from_numpy(codes[rows])
        t.append(time.perf_counter())
        inf = m.inference(xb, bb)
        gen = m.generative(inf["z"], inf["library"], bb)
        t.append(time.perf_counter())
        out = m.loss(xb, inf, gen)
        t.append(time.perf_counter())
        opt.zero_grad(set_to_none=True)
        out.loss.backward()
        t.append(time.perf_counter())
        opt.step()
        t.append(time.perf_counter())
        if step >= 10:  # warm-up steps are not counted
            for k, (t0, t1) in zip(parts, zip(t, t[1:])):
                parts[k] += t1 - t0
    return sum(parts.values())


if __name__ == "__main__":
    main()
