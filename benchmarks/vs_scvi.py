"""cellvae against scvi-tools' SCVI on the same data, architecture and schedule, in one process.

Run on demand, in an environment with the ``[bench]`` extra (scvi-tools); never in the tests:

    python3 -m venv .venv-bench && .venv-bench/bin/pip install torch==2.13.0 -e ".[bench]"
    .venv-bench/bin/python benchmarks/vs_scvi.py --batch 128
    .venv-bench/bin/python benchmarks/vs_scvi.py --batch 512
    .venv-bench/bin/python benchmarks/vs_scvi.py --batch 128 --precision bf16-mixed --compile-likelihood

Both tools get the same simulated AnnData (raw counts, ``--train-cells`` training cells, a
held-out test set), an NB decoder conditioned on the 12 batches, ``--hidden`` units, a
``--latent``-dimensional z, minibatches of ``--batch``, a linear KL warm-up over
``--warmup`` epochs, ``--epochs`` epochs, a 10% validation split, no early stopping, Adam at
lr 1e-3 and the same torch.  Printed: seconds per epoch, training cells per second and the
held-out log p(x | library size) per test cell: scvi's ``get_marginal_ll`` and cellvae's IWAE,
both with ``--k`` importance samples on the same test cells.  Then the ratios.  On CUDA,
cellvae also trains once with ``cuda_graph=False`` (every step launched eagerly).  With
``--precision bf16-mixed`` and/or ``--compile-likelihood``, cellvae also trains with each
combination of them (float32 and eager always first); each row's held-out value is then also
set against cellvae's in float32 (``vs float32``).
"""

from __future__ import annotations

import argparse
import platform
import time

import numpy as np
import torch

from cellvae import CellVAE
from cellvae.data import prepare, simulate_bmmc
from cellvae.model import PRECISIONS


def data(train_cells: int, genes: int, seed: int = 0):
    """Simulated BMMC-like counts: ``train_cells`` training cells and a quarter as many test cells."""
    n = int(round(train_cells / 0.8))
    adata = prepare(simulate_bmmc(n, 2 * genes, seed=seed), n_top_genes=genes, seed=seed)
    adata.obs["batch"] = adata.obs["batch"].astype(str).astype("category")
    train = adata[adata.obs["split"] == "train"].copy()
    test = adata[adata.obs["split"] == "test"].copy()
    return train, test


def run_cellvae(train, test, a, *, cuda_graph: bool = True, precision: str = "32",
                compile_likelihood: bool = False) -> dict:
    """Fit cellvae and return its timings and held-out IWAE."""
    model = CellVAE(train, layer="counts", batch_key="batch", likelihood="nb", n_latent=a.latent,
                    n_hidden=a.hidden, seed=0)
    t0 = time.perf_counter()
    res = model.train(train, max_epochs=a.epochs, batch_size=a.batch, kl_warmup_epochs=a.warmup,
                      patience=0, validation_fraction=0.1, seed=0, progress=False, device=a.device,
                      cuda_graph=cuda_graph, precision=precision, compile_likelihood=compile_likelihood)
    sec = time.perf_counter() - t0
    assert len(res.history) == a.epochs
    ll = model.evaluate(test, iwae_k=a.k)["iwae_mean"]
    return {"seconds": sec, "ll": ll}


def run_scvi(train, test, a) -> dict:
    """Fit scvi-tools SCVI with the same architecture and schedule."""
    import scvi

    scvi.settings.seed = 0
    scvi.settings.dl_num_workers = 0
    scvi.model.SCVI.setup_anndata(train, layer="counts", batch_key="batch")
    model = scvi.model.SCVI(train, n_hidden=a.hidden, n_latent=a.latent, n_layers=1, dropout_rate=0.1,
                            gene_likelihood="nb", dispersion="gene", encode_covariates=False)
    t0 = time.perf_counter()
    model.train(max_epochs=a.epochs, batch_size=a.batch, train_size=0.9, early_stopping=False,
                enable_progress_bar=False, accelerator="gpu" if a.device.startswith("cuda") else "cpu", devices=1,
                plan_kwargs={"lr": 1e-3, "n_epochs_kl_warmup": a.warmup})
    sec = time.perf_counter() - t0
    ll = model.get_marginal_ll(test, n_mc_samples=a.k, batch_size=256, return_mean=False)
    return {"seconds": sec, "ll": float(np.mean(np.asarray(ll)))}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--train-cells", type=int, default=18_000)
    p.add_argument("--genes", type=int, default=2000)
    p.add_argument("--hidden", type=int, default=256)
    p.add_argument("--latent", type=int, default=10)
    p.add_argument("--batch", type=int, default=128)
    p.add_argument("--epochs", type=int, default=10)
    p.add_argument("--warmup", type=int, default=5)
    p.add_argument("--k", type=int, default=100, help="importance samples for the held-out bound")
    p.add_argument("--device", default="cpu", help="cpu or cuda: both tools train there")
    p.add_argument("--precision", choices=PRECISIONS, default="32", help="also train cellvae at this precision")
    p.add_argument("--compile-likelihood", action="store_true", help="also train with the compiled likelihood")
    a = p.parse_args()
    train, test = data(a.train_cells, a.genes)
    fit_cells = int(round(0.9 * train.n_obs))  # both hold out 10% of training cells for validation
    where = (torch.cuda.get_device_name() if a.device.startswith("cuda")
             else f"{platform.processor() or platform.machine()}, {torch.get_num_threads()} threads")
    print(f"{where}, torch {torch.__version__}; {train.n_obs:,} train / {test.n_obs:,} test cells x "
          f"{train.n_vars:,} genes, {train.obs['batch'].nunique()} batches; NB, hidden {a.hidden}, "
          f"latent {a.latent}, batch {a.batch}, {a.epochs} epochs (warm-up {a.warmup}), K = {a.k}")
    rows = {"scvi-tools SCVI": run_scvi(train.copy(), test.copy(), a),
            "cellvae": run_cellvae(train, test, a)}
    if a.device.startswith("cuda"):  # the same fit without the captured graphs (model/graphstep.py)
        rows["cellvae, eager steps"] = run_cellvae(train, test, a, cuda_graph=False)
    for prec in dict.fromkeys(("32", a.precision)):
        for comp in dict.fromkeys((False, a.compile_likelihood)):
            if (prec, comp) != ("32", False):
                name = f"cellvae, {prec}" + (", compiled likelihood" if comp else "")
                rows[name] = run_cellvae(train, test, a, precision=prec, compile_likelihood=comp)
    print("| tool | s/epoch | train cells/s | held-out log p(x|l), nats/cell | vs float32 |\n|---|---|---|---|---|")
    s, c = rows["scvi-tools SCVI"], rows["cellvae"]
    for name, r in rows.items():
        r["rate"] = a.epochs * fit_cells / r["seconds"]
        vs = f"{r['ll'] - c['ll']:+.2f} nats" if name.startswith("cellvae") else ""
        print(f"| {name} | {r['seconds'] / a.epochs:.2f} | {r['rate']:,.0f} | {r['ll']:.1f} | {vs} |")
    for name, r in rows.items():
        if name.startswith("cellvae"):
            print(f"| {name} / scvi | {r['seconds'] / s['seconds']:.2f}x time | {r['rate'] / s['rate']:.2f}x | "
                  f"{r['ll'] - s['ll']:+.1f} nats | |")


if __name__ == "__main__":
    main()
