"""``cellvae-grid --dry-run``: what the book would train and score on the data given, and for how long here.

The runs are the chapters' own plans (:data:`cellvae.study.chapters.plans.PLANS`), round by
round, less those already in the run cache.  The follow-ups of the model choice, the
calibrated nulls' VAEs and SCVI are costed with the widest NB architecture standing in for
the choice, which is not made yet: an upper bound.  Each run's cost is measured here, a few
minibatches of its own shape (:func:`cellvae.study.runner.estimate.probe`), over the range of
epochs it may take.  The work that is not a run (scoring, the nulls' simulations, UMAPs) is
the default build's, rescaled by one Benchmarker call timed on this data's scored test cells
(at most :data:`~cellvae.study.runner.scored.MAX_SCORED_CELLS`, however large the file).
"""

from __future__ import annotations

import os
import tempfile
import time
from dataclasses import dataclass, replace

import anndata as ad
import numpy as np

from ..calls.calibration import NULL_SEEDS, POWER_SEEDS
from ..calls.controls import matched_cells
from ..calls.plan import DATA, choice, round_specs
from ..chapters.plans import PLANS
from ..runner import grid
from ..runner.cache import RunCache, data_key
from ..runner.estimate import REFERENCE_CELLS, Cost, Eta, costs, epoch_range
from ..runner.grid import RunSpec
from ..runner.scored import scored_cells
from ..scoring.embed import PCA_KEY, pca
from ..scoring.integration import benchmark

#: The architecture that stands in for the model choice before it is made: the widest, so the
#: follow-ups' projection is an upper bound.
STAND_IN = "M5"
STAND_IN_NOTE = "standing in"
#: scvi-tools' SCVI trains at about half our cells per second on CPU (1.86x and 1.88x at
#: batch 128 and 512: docs/measurements.md), so one SCVI run costs this many of ours.
SCVI_FACTOR = 1.9
#: The default build's wall seconds that are not runs: its grid on 2 cores (1,105 s, the cold build
#: of 2026-12-07 at 5245199, ``benchmarks/cold_build.sh``) less its runs' projection with the real
#: choice standing in (912 s; :func:`plan_lines` with M2, on the same machine with nothing else
#: running).  So this machine's projection of the default build is its measured time.
REF_REST_SECONDS = 193.0
#: One :func:`benchmark_probe` on the default data (600 test cells) on that machine: 1.80 and 1.68 s.
REF_PROBE_SECONDS = 1.7
#: Names of the two rounds whose runs print no line, and of the ETA's part they make (cleared when
#: the grid has them: :func:`cellvae.study.runner.progress.finish`).
NULLS, SCVI, CONTROLS = "calibrated nulls' VAEs", "SCVI (scvi-tools)", "controls"


@dataclass
class Line:
    """One round of runs: what it is, how many, how many are cached, their projected seconds."""

    what: str
    note: str
    cells: int  # of the data the runs train on
    runs: list[RunSpec]
    cached: int
    seconds: tuple[float, float]  # low, high: the sum over the runs still to train
    cost: list[Cost]


def _line(what: str, data: ad.AnnData, specs: list[RunSpec], cache: RunCache | None, *, scale: float = 1.0,
          n_cells: int | None = None, note: str = "") -> Line:
    """A round's runs not in ``cache`` (None: not cached runs, as the nulls' and SCVI's are not here)."""
    dk = data_key(data)
    todo = [s for s in specs if cache is None or not cache.path(s.key(dk)).exists()]
    cs = [replace(c, epoch_seconds=c.epoch_seconds * scale, eval_seconds=c.eval_seconds * scale,
                  epochs=epoch_range(s, n_cells or data.n_obs)) for s, c in zip(todo, costs(data, todo))]
    secs = tuple(sum(c.seconds[i] for c in cs) for i in (0, 1))
    return Line(what, note, n_cells or data.n_obs, todo, len(specs) - len(todo), secs, cs)


def _stand_in(adata: ad.AnnData, cache: RunCache) -> tuple[RunSpec, str]:
    """The chosen spec if the main grid is cached, else :data:`STAND_IN`'s NB; and how it was got."""
    dk = data_key(adata)
    if all(cache.path(s.key(dk)).exists() for s in grid.report_specs()):
        best = choice(adata)
        return best, f"{best.arch}, the choice"
    return grid.family_spec(STAND_IN, "nb/raw"), f"{STAND_IN} {STAND_IN_NOTE}"


def plan_lines(adata: ad.AnnData, *, controls: bool = True) -> list[Line]:
    """Every round of runs the book needs on ``adata``, with its projected cost here.

    Parameters
    ----------
    adata
        The book's prepared data.
    controls
        Also the batch chapter's controls (``cellvae-grid --no-controls`` skips them).

    Returns
    -------
    list of Line
        The main grid, the follow-ups of the choice, the other data's runs, and with
        ``controls`` the calibrated nulls' VAEs (at the nulls' size) and SCVI.
    """
    cache = RunCache()
    first = round_specs(PLANS, ("book", False), adata, None)
    stand_in, who = _stand_in(adata, cache)
    seen = {s.key("") for s in first}
    after = [s for s in round_specs(PLANS, ("book", True), adata, stand_in) if s.key("") not in seen]
    out = [_line("book data, the main grid", adata, first, cache),
           _line(f"book data, follow-ups of the choice ({who})", adata, after, cache)]
    for name in sorted({g.data for p in PLANS for g in p.groups.values()} - {"book"}):
        other = DATA[name]()
        out.append(_line(f"{name} data", other, round_specs(PLANS, (name, False), other, None), cache))
    if not controls:
        return out
    # what each null VAE trains on: a real file's simulation is larger, but only its matched batches are kept
    n_null = matched_cells(adata)
    nulls = [grid.variant_of(stand_in, seed=k) for k in range(len(NULL_SEEDS) + 2 * len(POWER_SEEDS))]
    out.append(_line(NULLS, adata, nulls, None, scale=n_null / adata.n_obs, n_cells=n_null,
                     note=f"{n_null:,} simulated cells each"))
    scvi = [grid.variant_of(stand_in, seed=k) for k in grid.BATCH_SEEDS]
    out.append(_line(SCVI, adata, scvi, None, scale=SCVI_FACTOR, note=f"at our NB's cost x {SCVI_FACTOR:g}"))
    return out


def benchmark_probe(adata: ad.AnnData) -> float:
    """Seconds of one Benchmarker call (PCA, batch mixing and bio metrics) on ``adata``'s scored test cells.

    Timed twice in an empty cache, the second time counted (the first compiles).

    Parameters
    ----------
    adata
        The book's prepared data (a copy is embedded).

    Returns
    -------
    float
    """
    a = adata.copy()
    pca(a)
    test = scored_cells(a)
    before = os.environ.get("CELLVAE_CACHE")
    secs = []
    for _ in range(2):
        with tempfile.TemporaryDirectory() as d:
            os.environ["CELLVAE_CACHE"] = d
            try:
                t0 = time.perf_counter()
                benchmark(a, {"PCA": PCA_KEY}, mask=test, full=False)
                secs.append(time.perf_counter() - t0)
            finally:
                os.environ.pop("CELLVAE_CACHE") if before is None else os.environ.update(CELLVAE_CACHE=before)
    return secs[-1]


def projection(adata: ad.AnnData, *, jobs: int, probe_scoring: bool = True, controls: bool = True
               ) -> tuple[list[Line], float, tuple[float, float]]:
    """The rounds, the projected seconds of the rest, and the build's projected wall time here.

    Parameters
    ----------
    adata
        The book's prepared data.
    jobs
        Processes that train at once.
    probe_scoring
        Time :func:`benchmark_probe` (about 10 s at 3,000 cells); False scales the reference
        linearly with the scored cells instead (the ETA during a build, which rescales as it goes).
    controls
        As for :func:`plan_lines`; without them the scoring is left out too.

    Returns
    -------
    lines, rest, total
        :func:`plan_lines`; the work that is not a run (:data:`REF_REST_SECONDS` rescaled by
        :func:`benchmark_probe` or the cells, and by 2 / ``jobs``); total (low, high) wall seconds.
    """
    lines = plan_lines(adata, controls=controls)
    scored = scored_cells(adata)  # the cells scored grow with the data up to their bound
    share = scored.sum() / max((adata.obs["split"] == "test").sum(), 1)
    ratio = benchmark_probe(adata) / REF_PROBE_SECONDS if probe_scoring else share * adata.n_obs / REFERENCE_CELLS
    rest = REF_REST_SECONDS * ratio * 2 / max(jobs, 1) if controls else 0.0
    total = tuple(sum(ln.seconds[i] for ln in lines) / max(jobs, 1) + rest for i in (0, 1))
    return lines, rest, total


def eta(lines: list[Line], rest: float, *, jobs: int) -> Eta:
    """The build's :class:`~cellvae.study.runner.estimate.Eta` from a :func:`projection`.

    Parameters
    ----------
    lines, rest
        :func:`projection` output.
    jobs
        Processes that train at once.

    Returns
    -------
    Eta
    """
    printed = [ln for ln in lines if ln.what not in (NULLS, SCVI)]
    specs = [s for ln in printed for s in ln.runs]
    silent = sum(c.middle + c.eval_seconds for ln in lines if ln not in printed for c in ln.cost)
    stand_in = frozenset(s.label for ln in printed if STAND_IN_NOTE in ln.what for s in ln.runs)
    return Eta.of(specs, [c for ln in printed for c in ln.cost], cells=[ln.cells for ln in printed for _ in ln.runs],
                  jobs=jobs, then=rest, any_label=stand_in,
                  later={CONTROLS: silent} if silent else {})


def minutes(secs: tuple[float, float]) -> str:
    """A (low, high) span of seconds in whole minutes: ``"12 min"`` or ``"12-37 min"``.

    Parameters
    ----------
    secs
        Low and high seconds.

    Returns
    -------
    str
    """
    lo, hi = (v / 60 for v in secs)
    return f"{lo:.0f} min" if round(lo) == round(hi) else f"{lo:.0f}-{hi:.0f} min"


def report(adata: ad.AnnData, *, jobs: int) -> str:
    """The dry run's text: each round's runs, what is cached, and the projected time on this machine.

    Parameters
    ----------
    adata
        The book's prepared data.
    jobs
        Processes that train at once.

    Returns
    -------
    str
    """
    lines, rest, total = projection(adata, jobs=jobs)
    rows = [f"  {ln.what}{f' ({ln.note})' if ln.note else ''}: {len(ln.runs)} to train, {ln.cached} cached; one run "
            f"{_per_run(ln)}; {minutes(ln.seconds)} of training in all" for ln in lines]
    return "\n".join([
        f"cellvae-grid --dry-run on {adata.n_obs:,} cells x {adata.n_vars:,} genes, {jobs} process(es):",
        *rows,
        f"  scoring, the nulls' simulations and UMAPs: about {minutes((rest, rest))}",
        f"projected wall time here: {minutes(total)} (epochs bracketed from the default build's; "
        "the ETA printed during the build rescales this by the runs it times)"])


def _per_run(ln: Line) -> str:
    if not ln.cost:
        return "-"
    ep = np.median([c.epoch_seconds for c in ln.cost])
    lo, hi = min(c.epochs[0] for c in ln.cost), max(c.epochs[1] for c in ln.cost)
    return f"{ep:.2f} s per epoch x {lo}-{hi} epochs" if lo != hi else f"{ep:.2f} s per epoch x {lo} epochs"
