"""Every chapter's plan, in one place: the runs it reads and the scores the grid fills ahead for it.

This is the book's dependency graph, and the only copy of it: ``cellvae-grid``
(:func:`cellvae.study.book.cli.book_grid`) trains and scores what these plans name, and each
chapter loads its runs with ``plans.<CHAPTER>.load(...)``.  Tasks and main-process work are named
by import path, so this module imports no chapter and every chapter may read it.  See :mod:`cellvae.study.calls.plan`
for what a group, a task and a round are.
"""

from __future__ import annotations

from concurrent.futures import ProcessPoolExecutor

from ..calls.calibration import calibrate
from ..calls.original_study import equivalence_spec
from ..calls.plan import Group, Plan, Task
from ..calls.raw_gaussians import raw_gaussian_specs
from ..runner import grid
from ..runner.cache import RunCache
from ..runner.runs import shared_copy
from ..runner.starter_grid import real_specs, seed_specs
from ..scoring.baselines import scvi_from_path

#: The main grid on the book's data (architectures x families x seeds): the model choice reads it.
MAIN = Group(lambda a, best: grid.report_specs())
#: The chosen model without and with batch conditioning, at every batch seed: the batch chapter's latents.
BATCH_PAIR = Group(lambda a, best: grid.batch_seeds(best), chosen=True)
#: The chosen model with a zero-inflated NB decoder.
ZINB = Group(lambda a, best: [grid.zinb_of(best)], chosen=True)


def _batch_controls(adata, best, executor, threads) -> list:
    """SCVI at every batch seed in pool processes (whose main thread Lightning can own), the nulls in a thread."""
    out = []
    if isinstance(executor, ProcessPoolExecutor):  # on Dask, SCVI waits for the main process
        path = shared_copy(adata, RunCache())
        out += [executor.submit(scvi_from_path, path, grid.variant_of(best, seed=k)) for k in grid.BATCH_SEEDS]
    out.append(threads.submit(calibrate, adata, best, executor=executor))
    return out


EDA = Plan("eda", {})
RESULTS = Plan("results", {
    "grid": MAIN,
    "original": Group(lambda a, best: [equivalence_spec(a.n_vars)]),  # the original study's objective
    "raw gaussians": Group(lambda a, best: raw_gaussian_specs()),
    "sweep": Group(lambda a, best: grid.sweep_specs(best), chosen=True),  # the chosen model's beta sweep
    "zinb": ZINB,
}, tasks=(Task(f"{__package__}.results:results_task", needs=("grid",)),))
BATCH_EFFECTS = Plan("batch_effects", {"grid": MAIN, "batch pair": BATCH_PAIR},
                     beside=_batch_controls, last=f"{__package__}.batch_effects:batch_evidence")
REAL_CELLS = Plan("real_cells", {
    "starter": Group(lambda a, best: real_specs(), data="starter"),
    "starter seeds": Group(lambda a, best: seed_specs(), data="starter"),
    "main": MAIN, "main batch pair": BATCH_PAIR, "main zinb": ZINB,  # the side-by-side table
}, tasks=(Task(f"{__package__}.real_cells:starter_task", needs=("starter", "starter seeds")),
          Task(f"{__package__}.side_by_side:findings_task", needs=("main", "main batch pair"))))
#: The intro (its key findings) and the conclusions glue the results chapter's clauses on the original
#: study and the batch chapter's verdicts, so they read those groups too (and the real cells chapter's,
#: through its own plan).
CONCLUSIONS = Plan("conclusions", {**RESULTS.groups, "batch pair": BATCH_PAIR})
INTRO = Plan("intro", dict(CONCLUSIONS.groups))
#: In the book's order.
PLANS = (INTRO, EDA, RESULTS, BATCH_EFFECTS, REAL_CELLS, CONCLUSIONS)
