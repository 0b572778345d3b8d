"""Wall time and peak memory of the study at full size, stage by stage.

Run on demand, never in the tests:

    .venv/bin/python benchmarks/scale.py                    # 90,260 x 8000, 5000 HVGs
    .venv/bin/python benchmarks/scale.py --cells 20000      # a quicker look
    python benchmarks/scale.py --device cuda                # train and evaluate on a GPU

A child process simulates ``--cells`` x ``--genes`` BMMC-like counts in the GEO schema and
writes them as ``.h5ad`` (its memory is not counted).  This process then runs, one stage at a
time: ``read_h5ad(counts_only=True)`` (as ``load_bmmc`` reads), ``prepare`` (validation, HVGs, split), one NB training epoch on the
training cells, the IWAE evaluation (``--k`` samples) of the test cells, ``get_latent`` of
every cell, and the EDA summaries (value table, non-zero quantile, per-gene mean and variance
of every variant including Pearson residuals).  After each it prints the wall time, the peak
resident memory during that stage (Linux ``VmHWM``, reset between stages through
``/proc/self/clear_refs``) and the resident memory left after it.
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

GIB = 1024**3


def status_kib(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"{field} not in /proc/self/status (Linux only)")


def reset_peak() -> None:
    """Reset the peak RSS counter (VmHWM) of this process."""
    Path("/proc/self/clear_refs").write_text("5")


def stage(name: str, fn, rows: list):
    """Run ``fn()``, record wall seconds, peak and remaining RSS, and print the row."""
    reset_peak()
    t0 = time.perf_counter()
    out = fn()
    row = (name, time.perf_counter() - t0, status_kib("VmHWM") * 1024 / GIB, status_kib("VmRSS") * 1024 / GIB)
    rows.append(row)
    print(f"| {row[0]} | {row[1]:.1f} | {row[2]:.2f} | {row[3]:.2f} |", flush=True)
    return out


def write_data(path: str, cells: int, genes: int) -> None:
    """Simulate and write the input file (runs in a child process)."""
    from cellvae.data import simulate_bmmc

    simulate_bmmc(cells, genes, seed=0, progress=True).write_h5ad(path)


def eda(adata) -> None:
    """The EDA chapter's summaries on every variant."""
    from cellvae.study.chapters import eda as e

    e.value_summary(adata)
    for v in ("raw", "preprocessed", "processed"):
        e.quantile_filter(e.nonzero_values(adata, v))
    e.mean_variance(adata)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--cells", type=int, default=90_260)
    p.add_argument("--genes", type=int, default=8000)
    p.add_argument("--hvgs", type=int, default=5000)
    p.add_argument("--k", type=int, default=20)
    p.add_argument("--batch", type=int, default=512)
    p.add_argument("--device", default="cpu", help="where the model trains and is evaluated: cpu, cuda")
    a = p.parse_args()
    from cellvae import CellVAE
    from cellvae.data import prepare, read_h5ad

    torch.set_num_threads(max(1, min(2, os.cpu_count() or 1)))
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "sim.h5ad")
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-c", f"import sys; sys.path.insert(0, {str(Path(__file__).parent)!r}); "
                        f"import scale; scale.write_data({path!r}, {a.cells}, {a.genes})"], check=True)
        print(f"{a.cells} x {a.genes} simulated and written in {time.perf_counter() - t0:.0f} s "
              f"({os.path.getsize(path) / GIB:.2f} GiB); torch {torch.__version__}, "
              f"{torch.get_num_threads()} threads, {platform.processor() or platform.machine()}"
              + (f", {torch.cuda.get_device_name()}" if a.device.startswith("cuda") else ""))
        print("| stage | wall s | peak RSS GiB | RSS after GiB |\n|---|---|---|---|")
        rows: list = []
        raw = stage("read_h5ad (counts only)", lambda: read_h5ad(path, counts_only=True), rows)
        adata = stage("prepare", lambda: prepare(raw, n_top_genes=a.hvgs), rows)
        raw = None  # free the full-gene counts
        train = adata.obs["split"].to_numpy() == "train"
        model = CellVAE(adata, layer="counts", batch_key="batch", likelihood="nb", seed=0)
        stage("train 1 epoch", lambda: model.train(adata[train], max_epochs=1, batch_size=a.batch,
                                                   patience=0, progress=False, device=a.device), rows)
        stage(f"IWAE k={a.k}", lambda: model.evaluate(adata[~train], iwae_k=a.k), rows)
        stage("get_latent", lambda: model.get_latent(adata), rows)
        stage("EDA summaries", lambda: eda(adata), rows)
    worst = max(r[2] for r in rows)
    print(f"highest stage peak: {worst:.2f} GiB ({'under' if worst < 3 else 'over'} the 3 GiB goal)")


if __name__ == "__main__":
    main()
