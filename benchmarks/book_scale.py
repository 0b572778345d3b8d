"""The book at the GEO file's size: each stage of the grid timed at 3,000-30,000 cells, projected to 90,260.

Run on demand, never in the tests (about 20 minutes on 2 cores):

    .venv/bin/python benchmarks/book_scale.py                      # 3,000, 10,000, 30,000 cells
    .venv/bin/python benchmarks/book_scale.py --cells 3000 10000   # a quicker look

For each size a child process simulates a GEO-schema file (13,953 genes, as GSE194122 has)
and, with an empty cache, times each stage of the book's grid on it, with its peak resident
memory (Linux ``VmHWM``, reset between stages):

- ``load``: the book's loader on the file (read, validate, HVGs, split), as ``$CELLVAE_DATA``;
- ``run``: one converged NB run of the chosen architecture (M2), trained to early stopping at one
  torch thread and evaluated, as the grid runs it; its epochs are reported;
- ``bench``: the Benchmarker with the book's extras on one embedding (PCA) over the scored test
  cells, after one untimed call that compiles (as a pool worker's first does);
- ``null``: one null simulation at the data's size (at most ``CONTROL_MAX_CELLS``), embedded (PCA,
  Harmony) and scored on the three scopes (its VAE is a ``run``);
- ``umap``: one UMAP of the cells a figure draws (every cell, or the scored ones above
  ``MAX_SCORED_CELLS``: ``cellvae.study.runner.scored``, the scale plan);
- ``chapters``: the chapters' own summaries of the data (the EDA's tables).

Each stage's growth is fitted as ``seconds = c * cells**b`` on the cells it sees (least squares on
log-log) and projected to what it sees in a book of 90,260 cells.  The whole book is the default build's work counted in these units
(``--build-*``: read from a cold build's caches on this machine), each unit at its projected
cost; the runs' rounds bound it from below however many cores there are.  The table prints
measured rows and projected rows apart.  ``--save``/``--measured`` keep and reuse the rows.
"""

from __future__ import annotations

import argparse
import inspect
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from scale import GIB, reset_peak, status_kib  # this folder's script: the same /proc readings

#: GSE194122's cells and genes.
GEO_CELLS, GEO_GENES = 90_260, 13_953
STAGES = ("load", "run", "bench", "null", "umap", "chapters")
#: GPU trainer throughput over CPU at batch 128 (docs/measurements.md, "On a GPU": 140,839-156,188
#: cells/s on one H200 against 10,017 on 2 CPU threads): the run stage's training on one GPU.
GPU_SPEEDUP = 14.0


def seen(stage: str, cells: int, *, plan: bool = True) -> int:
    """The cells a stage works on in a book of ``cells`` cells, under the scale plan (or before it).

    Training and loading see every cell; the Benchmarker the scored held-out cells; a null its
    simulation's cells (at most ``CONTROL_MAX_CELLS``); a UMAP the cells a figure draws
    (``cellvae.study.runner.scored``).  Without the plan a null and a UMAP saw every cell.
    """
    from cellvae.data.preprocess import split_cells
    from cellvae.study.calls.controls import CONTROL_MAX_CELLS
    from cellvae.study.runner.scored import MAX_SCORED_CELLS

    held_out = round(cells * inspect.signature(split_cells).parameters["test_fraction"].default)
    if not plan:
        return held_out if stage == "bench" else cells
    return {"bench": min(held_out, MAX_SCORED_CELLS), "null": min(cells, CONTROL_MAX_CELLS),
            "umap": cells if cells <= MAX_SCORED_CELLS else min(held_out, MAX_SCORED_CELLS)}.get(stage, cells)


def _stage(name: str, fn, rows: dict, cells: int):
    reset_peak()
    t0 = time.perf_counter()
    out = fn()
    rows[name] = {"seconds": time.perf_counter() - t0, "peak_gib": status_kib("VmHWM") * 1024 / GIB, "seen": cells}
    print(f"  {name}: {rows[name]['seconds']:.1f} s on {cells:,} cells, peak {rows[name]['peak_gib']:.2f} GiB", flush=True)
    return out


def one_size(cells: int, genes: int) -> dict:
    """Every stage at one size, in this process, with an empty cache (a child of :func:`main`)."""
    with tempfile.TemporaryDirectory() as d:
        os.environ.update(CELLVAE_CACHE=os.path.join(d, "cache"), CELLVAE_DATA=os.path.join(d, "geo.h5ad"))
        from cellvae.data import simulate_bmmc

        simulate_bmmc(cells, genes, seed=0).write_h5ad(os.environ["CELLVAE_DATA"])
        from cellvae.study.calls import calibration as cal
        from cellvae.study.chapters import eda
        from cellvae.study.runner import grid
        from cellvae.study.runner.bookdata import book_data
        from cellvae.study.runner.runs import run_one
        from cellvae.study.runner.scored import drawn, scored_cells
        from cellvae.study.scoring.embed import PCA_KEY, pca, umap
        from cellvae.study.scoring.integration import benchmark

        rows: dict = {}
        adata = _stage("load", book_data, rows, cells)
        res, _ = _stage("run", lambda: run_one(adata, grid.family_spec("M2", "nb/raw")), rows, cells)
        rows["run"].update(epochs=res.metrics["epochs"], train_seconds=res.metrics["seconds"])
        pca(adata)
        test = scored_cells(adata)
        adata.obsm["X_warm"] = adata.obsm[PCA_KEY][:, ::-1].copy()  # compiles JAX and numba: a pool worker's first call
        benchmark(adata, {"warm": "X_warm"}, pre_key=PCA_KEY, mask=test)
        _stage("bench", lambda: benchmark(adata, {"PCA": PCA_KEY}, pre_key=PCA_KEY, mask=test), rows, int(test.sum()))
        null = cal._settings(cal.like(adata), False)[0]

        def null_sim():
            sim = cal._sim(null)
            return cal._score(sim, cal._embed(sim, None, with_harmony=True), null["scope"], False)

        _stage("null", null_sim, rows, cal.like(adata)["n_cells"])
        shown = drawn(adata)
        _stage("umap", lambda: umap(shown, PCA_KEY), rows, shown.n_obs)

        def chapters():
            eda.value_summary(adata)
            eda.mean_variance(adata)

        _stage("chapters", chapters, rows, cells)
        return {"cells": cells, "genes": genes, "hvgs": adata.n_vars, "stages": rows}


def fit(cells: list[int], values: list[float]) -> tuple[float, float]:
    """(c, b) of ``value = c * cells**b``, least squares on log-log; b = 1 from a single size."""
    x, y = np.log(cells), np.log(np.maximum(values, 1e-6))
    if len(x) < 2:
        return float(np.exp(y[0] - x[0])), 1.0
    b, a = np.polyfit(x, y, 1)
    return float(np.exp(a)), float(b)


def project(measured: list[dict], *, runs_cpu: float, m2_seconds: float, n_null: int, n_bench: int,
            n_umap: int, null_runs: int, plan: bool = True) -> dict:
    """Each stage's fitted law, and the whole book's CPU seconds at :data:`GEO_CELLS` by units.

    The default build's runs count as ``runs_cpu / m2_seconds`` M2 runs (its training seconds over
    one M2 NB run's, both from its run cache), each at the ``run`` stage's cost on the GEO panel;
    its ``n_null`` simulations at the ``null`` stage's cost (an upper bound: 50 of its 55 score
    batch mixing alone); its ``n_bench`` other Benchmarker calls and ``n_umap`` UMAPs at theirs.
    Each stage is fitted and projected on the cells it sees (:func:`seen`); ``null_runs`` of the
    runs are the nulls' VAEs, which train on a null's simulation.  ``plan=False`` projects the
    book as it was before the scale plan.
    """
    x = {s: [m["stages"][s]["seen"] for m in measured] for s in STAGES}  # each stage's own cells
    law = {s: fit(x[s], [m["stages"][s]["seconds"] for m in measured]) for s in STAGES}
    mem = {s: fit(x[s], [m["stages"][s]["peak_gib"] for m in measured]) for s in STAGES}
    units = {"run": runs_cpu / m2_seconds - null_runs, "null": n_null, "bench": n_bench, "umap": n_umap,
             "load": 1, "chapters": 1}
    at = {s: law[s][0] * seen(s, GEO_CELLS, plan=plan) ** law[s][1] for s in STAGES}
    null_run = law["run"][0] * seen("null", GEO_CELLS, plan=plan) ** law["run"][1]  # a null's VAE on its simulation
    cpu = {s: units[s] * at[s] for s in STAGES}
    cpu["run"] += null_runs * null_run
    return {"law": law, "mem": mem, "units": units, "at": at, "null_run": null_run, "null_runs": null_runs,
            "null_cells": seen("null", GEO_CELLS, plan=plan), "cpu": cpu,
            "peak_gib": max(mem[s][0] * seen(s, GEO_CELLS, plan=plan) ** mem[s][1] for s in STAGES)}


def table(measured: list[dict], proj: dict) -> str:
    """Markdown: measured stage rows, then the projection at 90,260 cells on four machines."""
    out = ["| cells | HVGs | " + " | ".join(STAGES) + " | NB epochs | peak GiB |", "|---" * (len(STAGES) + 4) + "|"]
    for m in measured:
        st = m["stages"]
        out.append(f"| {m['cells']:,} (measured) | {m['hvgs']:,} | "
                   + " | ".join(f"{st[s]['seconds']:.1f} s" for s in STAGES)
                   + f" | {st['run']['epochs']} | {max(v['peak_gib'] for v in st.values()):.2f} |")
    at = proj["at"]
    out.append(f"| {GEO_CELLS:,} (projected) | | " + " | ".join(f"{at[s]:.0f} s" for s in STAGES) + " | | "
               f"{proj['peak_gib']:.1f} |")
    out.append("| growth exponent b | | " + " | ".join(f"{proj['law'][s][1]:.2f}" for s in STAGES) + " | | |")
    cpu = proj["cpu"]
    runs, rest = cpu["run"], sum(cpu.values()) - cpu["run"]
    # the rounds: the main grid, the follow-ups of the choice, then the nulls' VAEs: three runs end to end
    floor = 2 * at["run"] + proj["null_run"]
    machines = {"2 cores": (runs + rest) / 2, "16 cores": max((runs + rest) / 16, floor),
                "1 GPU (+16 cores)": runs / GPU_SPEEDUP + rest / 16,
                "Dask, 64 one-core workers": max((runs + rest) / 64, floor)}
    out += ["", f"Projected book at {GEO_CELLS:,} cells: {sum(cpu.values()) / 3600:.1f} CPU hours (runs "
            f"{runs / 3600:.1f} h as {proj['units']['run']:.0f} M2 runs at {GEO_CELLS:,} cells and "
            f"{proj['null_runs']} at {proj['null_cells']:,}; the nulls' simulations {cpu['null'] / 3600:.1f} h; "
            f"scoring and UMAPs {(cpu['bench'] + cpu['umap']) / 3600:.1f} h). With many cores the rounds "
            f"bound it: three runs end to end, {floor / 3600:.1f} h.", "",
            "| machine | projected wall time |", "|---|---|"]
    out += [f"| {k} | {v / 3600:.1f} h |" for k, v in machines.items()]
    return "\n".join(out)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--cells", type=int, nargs="+", default=[3000, 10_000, 30_000])
    p.add_argument("--genes", type=int, default=GEO_GENES)
    p.add_argument("--one", type=int, help=argparse.SUPPRESS)  # a child: one size, JSON on the last line
    # The default build on this machine (cold build of 2026-12-07 at 5245199, benchmarks/cold_build.sh),
    # read from its run cache and its scoring cache:
    p.add_argument("--build-runs-cpu", type=float, default=1399.0,
                   help="training seconds of its runs on the book's data, the nulls' VAEs included")
    p.add_argument("--build-m2-seconds", type=float, default=18.5, help="one M2 NB run's training seconds")
    p.add_argument("--build-nulls", type=int, default=55, help="its null and power simulations")
    p.add_argument("--build-benchmarks", type=int, default=87, help="its Benchmarker calls besides the nulls'")
    p.add_argument("--build-umaps", type=int, default=6, help="its UMAPs")
    p.add_argument("--build-null-runs", type=int, default=15, help="its nulls' VAEs, among its runs")
    p.add_argument("--no-plan", action="store_true", help="project the book as it was before the scale plan")
    p.add_argument("--save", help="write the measured rows as JSON here")
    p.add_argument("--measured", help="project from rows saved with --save instead of measuring")
    a = p.parse_args()
    if a.one:
        print(json.dumps(one_size(a.one, a.genes)))
        return
    measured = json.loads(Path(a.measured).read_text()) if a.measured else []
    for n in [] if a.measured else a.cells:
        print(f"{n:,} cells x {a.genes:,} genes:", flush=True)
        child = subprocess.Popen([sys.executable, __file__, "--one", str(n), "--genes", str(a.genes)],
                                 stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        lines = []
        for line in child.stdout:  # the stages as they finish, then the JSON
            lines.append(line)
            if not line.startswith("{"):
                print(line, end="", flush=True)
        if child.wait() != 0:
            raise SystemExit(f"book_scale: the {n:,}-cell child failed (exit {child.returncode})")
        measured.append(json.loads(lines[-1]))
    if a.save:
        Path(a.save).write_text(json.dumps(measured))
    proj = project(measured, runs_cpu=a.build_runs_cpu, m2_seconds=a.build_m2_seconds, n_null=a.build_nulls,
                   n_bench=a.build_benchmarks, n_umap=a.build_umaps, null_runs=a.build_null_runs, plan=not a.no_plan)
    print(table(measured, proj))


if __name__ == "__main__":
    main()
