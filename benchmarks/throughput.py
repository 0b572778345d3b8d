"""Training throughput of the VAE, against the dense matmul rate of the same machine.

Run on demand (never in the test suite):

    .venv/bin/python benchmarks/throughput.py            # hidden 512, 2000 genes, batch 512
    .venv/bin/python benchmarks/throughput.py --hidden 1024 --genes 5000
    python benchmarks/throughput.py --device cuda        # on a GPU (every timing synchronises)

Prints, per likelihood, cells/s for (a) the optimisation step alone on dense minibatches and
(b) the full trainer over ``--epochs`` epochs (CSR row slicing + densifying included; on CUDA
the matrix moves to the GPU and full minibatches replay captured graphs, and the trainer is
timed a second time with ``cuda_graph=False``), the achieved GFLOP/s of the step
(linear layers only: 2 * multiply-adds, x3 for forward + backward) and that as a share of the
dense float32 matmul GFLOP/s measured in the same run with the same shapes.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import scipy.sparse as sp
import torch

from cellvae.model.config import TrainConfig, VAEConfig
from cellvae.model.module import VAE
from cellvae.model.trainer import train


def sync(device: torch.device) -> None:
    """Wait for the device's queued work, so a timer measures the work and not its launch."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def matmul_gflops(m: int, k: int, n: int, *, device: torch.device, seconds: float = 2.0) -> float:
    """Dense float32 (m x k) @ (k x n) rate, best of repeated timed loops."""
    a, b = torch.randn(m, k, device=device), torch.randn(k, n, device=device)
    for _ in range(3):
        a @ b
    best, t_end = 0.0, time.perf_counter() + seconds
    while time.perf_counter() < t_end:
        sync(device)
        t = time.perf_counter()
        for _ in range(10):
            a @ b
        sync(device)
        best = max(best, 20 * m * k * n / (time.perf_counter() - t) / 1e9)
    return best


def step_flops(genes: int, hidden: int, latent: int) -> float:
    """Linear-layer FLOPs per cell for forward + backward (backward ~ 2x forward)."""
    macs = genes * hidden + 2 * hidden * latent + latent * hidden + hidden * genes
    return 3 * 2 * macs


def bench_step(cfg: VAEConfig, x: torch.Tensor, *, seconds: float = 3.0) -> float:
    """Cells/s of forward + backward + Adam on one dense minibatch, repeated."""
    m = VAE(cfg).to(x.device)
    opt = torch.optim.Adam(m.parameters(), lr=1e-3)
    m.train()

    def step():
        opt.zero_grad(set_to_none=True)
        m(x).loss.backward()
        opt.step()

    for _ in range(3):
        step()
    sync(x.device)
    n, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        for _ in range(10):
            step()
        n += 10 * x.shape[0]
        sync(x.device)
    return n / (time.perf_counter() - t0)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--genes", type=int, default=2000)
    p.add_argument("--hidden", type=int, default=512)
    p.add_argument("--latent", type=int, default=50)
    p.add_argument("--batch", type=int, default=512)
    p.add_argument("--cells", type=int, default=8192)
    p.add_argument("--epochs", type=int, default=2, help="epochs of the timed trainer run")
    p.add_argument("--device", default="cpu", help="torch device: cpu, cuda, cuda:1 ...")
    args = p.parse_args()
    dev = torch.device(args.device)
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    counts = rng.negative_binomial(1.2, 1.2 / 1.6, (args.cells, args.genes)).astype(np.float32)
    ref = matmul_gflops(args.batch, args.genes, args.hidden, device=dev)
    flops = step_flops(args.genes, args.hidden, args.latent)
    where = torch.cuda.get_device_name(dev) if dev.type == "cuda" else f"{torch.get_num_threads()} threads"
    print(f"torch {torch.__version__}, {args.device} ({where}); genes={args.genes} "
          f"hidden={args.hidden} latent={args.latent} batch={args.batch}")
    print(f"dense matmul ({args.batch}x{args.genes} @ {args.genes}x{args.hidden}): {ref:.1f} GFLOP/s")
    cuda = dev.type == "cuda"
    print(f"{'likelihood':<16}{'step cells/s':>14}{'GFLOP/s':>10}{'% matmul':>10}{'trainer cells/s':>17}"
          + (f"{'eager trainer':>15}" if cuda else ""))
    for lik in ("gaussian", "nb", "zinb"):
        data = np.log1p(counts) if lik == "gaussian" else counts
        cfg = VAEConfig(n_input=args.genes, n_latent=args.latent, n_hidden=args.hidden, likelihood=lik,
                        input_transform="none" if lik == "gaussian" else "log1p")
        rate = bench_step(cfg, torch.from_numpy(data[: args.batch]).to(dev))
        gf = rate * flops / 1e9
        x = sp.csr_matrix(data)
        full = trainer_rate(cfg, x, args, cuda_graph=True)
        eager = f"{trainer_rate(cfg, x, args, cuda_graph=False):>15,.0f}" if cuda else ""
        print(f"{lik:<16}{rate:>14,.0f}{gf:>10.1f}{100 * gf / ref:>9.0f}%{full:>17,.0f}{eager}")


def trainer_rate(cfg: VAEConfig, x, args, *, cuda_graph: bool) -> float:
    """Cells/s of :func:`train` over ``args.epochs`` epochs, set-up included."""
    torch.manual_seed(0)
    m = VAE(cfg)
    t0 = time.perf_counter()
    res = train(m, x, config=TrainConfig(max_epochs=args.epochs, batch_size=args.batch, validation_fraction=0,
                                         patience=0, progress=False, device=args.device,
                                         cuda_graph=cuda_graph))
    assert len(res.history) == args.epochs, "trainer stopped early"
    return args.epochs * x.shape[0] / (time.perf_counter() - t0)

if __name__ == "__main__":
    main()
