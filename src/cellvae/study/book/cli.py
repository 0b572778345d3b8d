"""``cellvae-grid``: train, or load from the cache, every run the book needs, with progress.

``make book`` calls it before ``jupyter-book build book``, so the chapters only read the
run cache.  By default runs not yet cached train in a local pool of processes, one per CPU
core (``--jobs``; one torch thread each), one pool for the whole grid.  The results
chapter's runs go first, with the real cells chapter's runs beside them; then the runs that
depend on its model choice (the beta sweep, the batch pair, ZINB), with SCVI and the
calibrated nulls beside them; last, every score the chapters read.  ``--workers N`` fans
runs out over a local Dask cluster and ``--scheduler ADDRESS`` over an existing one; workers read the data by path from the run
cache, which must be on a filesystem they share.

It is the study's command, not the library's: :mod:`cellvae.cli` never imports the study.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor

from ..runner.cache import RunCache
from ..runner.grid import batch_pair, report_specs, sweep_specs, zinb_of
from ..runner.pool import default_jobs, local_pool
from ..runner.runs import run_all, shared_copy
from .ext_parallel import grid_complete, mark_grid_complete


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="cellvae-grid", description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    where = p.add_mutually_exclusive_group()
    where.add_argument("--workers", type=int, default=0,
                       help="start a local Dask cluster with this many worker processes (0: serial)")
    where.add_argument("--scheduler", default=None,
                       help="address of a running Dask scheduler, e.g. tcp://10.0.0.5:8786")
    p.add_argument("--jobs", type=int, default=None,
                   help="local processes for runs not yet cached (default: $CELLVAE_JOBS, else one "
                        "per CPU core); 1 trains serially")
    p.add_argument("--no-controls", action="store_true", help="skip the batch-effect controls")
    p.add_argument("--force", action="store_true",
                   help="check every run and score even when the last complete grid had this data and code")
    return p


@contextlib.contextmanager
def executor_for(*, workers: int = 0, scheduler: str | None = None):
    """A ``concurrent.futures`` executor on Dask, or None for serial runs.

    Parameters
    ----------
    workers
        Worker processes of a local cluster (one thread each); 0 with no scheduler is serial.
    scheduler
        Address of a running scheduler; takes precedence over ``workers``.

    Yields
    ------
    concurrent.futures.Executor or None
        ``Client.get_executor()``, closed (with any local cluster) on exit.  The
        environment variables that Dask's nannies set in this process
        (``distributed.nanny.pre-spawn-environ``: ``OMP_NUM_THREADS=1`` ...) are put
        back, so later subprocesses (a book build) are not left single-threaded.

    Raises
    ------
    SystemExit
        If Dask's ``distributed`` is not installed (``pip install cellvae[cluster]``).
    """
    if not scheduler and workers <= 0:
        yield None
        return
    try:
        from distributed import Client, LocalCluster
    except ImportError:
        raise SystemExit("cellvae-grid: --workers/--scheduler need dask distributed: "
                         "pip install 'cellvae[cluster]'") from None
    environ = dict(os.environ)  # a local cluster's nannies set OMP_NUM_THREADS=1 etc. here
    with contextlib.ExitStack() as stack:
        stack.callback(lambda: (os.environ.clear(), os.environ.update(environ)))
        if scheduler:
            client = stack.enter_context(Client(scheduler))
        else:
            cluster = stack.enter_context(LocalCluster(n_workers=workers, threads_per_worker=1,
                                                       processes=True, dashboard_address=None))
            client = stack.enter_context(Client(cluster))
        print(f"cellvae-grid: {len(client.scheduler_info()['workers'])} Dask worker(s) at "
              f"{client.scheduler.address}", flush=True)
        yield client.get_executor()


def _stage(t0: float, msg: str) -> None:
    print(f"cellvae-grid: [{time.perf_counter() - t0:5.0f} s] {msg}", flush=True)


def longest_first(specs: list) -> list:
    """``specs`` reordered so that the slowest runs start first and none is left for last alone.

    Parameters
    ----------
    specs
        Runs of one round.

    Returns
    -------
    list
        The log-data Gaussians first (they take the most epochs to stop), then by hidden width.
    """
    return sorted(specs, key=lambda s: (s.family == "gaussian/processed", s.model.n_hidden), reverse=True)


def book_grid(adata, *, executor=None, jobs: int | None = None, controls: bool = True) -> dict:
    """Every run the book reads, trained or loaded, in the order the chapters need them.

    Parameters
    ----------
    adata
        The book's data (:func:`cellvae.study.runner.bookdata.book_data`).
    executor
        Where to run (see :func:`cellvae.study.runner.runs.run_all`); None is a local pool.
    jobs
        Processes of the local pool (None: :func:`cellvae.study.runner.pool.default_jobs`).
    controls
        Also compute the batch chapter's evidence: scvi-tools' SCVI, the calibrated null and
        dose-response simulations (their VAE runs in the pool) and every score.

    Returns
    -------
    dict
        ``results`` (the grid), ``followups`` (sweep, batch pair, the ZINB run, the Gaussians on raw counts and the real
        cells chapter's runs on the starter) and the
        number of runs.
    """
    from ..calls.calibration import calibrate
    from ..calls.original_study import equivalence_spec
    from ..calls.raw_gaussians import raw_gaussian_specs
    from ..calls.selection import choose_model
    from ..chapters.batch_effects import batch_evidence
    from ..chapters.real_cells import real_specs, seed_specs, starter_data, starter_task
    from ..chapters.results import results_task
    from ..chapters.side_by_side import findings_task
    from ..scoring.baselines import scvi_from_path

    with contextlib.ExitStack() as stack:
        if executor is None:  # one pool for the whole grid: workers start once and never wait for a round
            executor = stack.enter_context(local_pool(default_jobs() if jobs is None else jobs))
        kw = {"executor": executor, "jobs": 1, "verbose": True}  # no executor: serial
        # With workers, a thread queues the starter's runs beside the main runs.
        # Serially they wait: two trainings in one process would share torch's global RNG.
        side = stack.enter_context(ThreadPoolExecutor(2)) if executor is not None else None

        checks, t0 = [], time.perf_counter()

        def starter():
            print("cellvae-grid: the real cells chapter's runs on the shipped starter", flush=True)
            out = run_all(starter_data(), real_specs() + seed_specs(), **kw, progress=False)
            if executor is not None:  # its scIB check and UMAPs, so the chapter only reads them
                checks.append(executor.submit(starter_task))
            return out

        beside = side.submit(starter) if side else None
        first = report_specs()
        rest = raw_gaussian_specs() + [equivalence_spec(adata.n_vars)]
        order = longest_first(first + rest)
        ran = dict(zip(map(id, order), run_all(adata, order, **kw)))
        results = [ran[id(s)] for s in first]
        best = choose_model(results, family="nb/raw").best.spec
        _stage(t0, f"model chosen on validation: {best.label}; the follow-ups next")
        if executor is not None:
            checks.append(executor.submit(results_task))

        # SCVI, the calibrated nulls' runs and their scoring queue beside the follow-ups.  SCVI
        # goes to a pool process, whose main thread Lightning can own; on Dask it waits for ours.
        early = []
        if side and controls:
            if isinstance(executor, ProcessPoolExecutor):
                path = shared_copy(adata, RunCache())
                early.append(executor.submit(scvi_from_path, path, best))
            early.append(side.submit(calibrate, adata, best, executor=executor))
        followups = [ran[id(s)] for s in rest]
        followups += run_all(adata, longest_first(sweep_specs(best) + list(batch_pair(best)) + [zinb_of(best)]), **kw)
        if executor is not None:  # the real cells chapter's scores of the main latents (needs the batch pair)
            checks.append(executor.submit(findings_task))
        followups += beside.result() if beside else starter()
        _stage(t0, "follow-ups ready" + ("; waiting for SCVI and the calibrated nulls" if early else ""))
        for f in early:
            f.result()
        if controls:
            _stage(t0, "batch evidence: the main table, controls and scopes scored in the pool")
            batch_evidence(adata, results, executor=executor)
        for f in checks:
            f.result()
        _stage(t0, "done")
    return {"results": results, "followups": followups, "n_runs": len(results) + len(followups)}


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``cellvae-grid``.

    Parameters
    ----------
    argv
        Arguments without the program name; None reads ``sys.argv``.

    Returns
    -------
    int
        Exit status: 0 when every run is ready (a diverged run is a recorded result, and
        counted), 130 if interrupted.
    """
    p = _parser()
    a = p.parse_args(argv)
    if a.jobs is not None and a.jobs < 1:
        p.error(f"--jobs must be at least 1, got {a.jobs}")
    from ..runner.bookdata import book_data

    if not (a.force or a.no_controls) and grid_complete():
        print("cellvae-grid: every run and score is cached: the last complete grid ran on this data with "
              "this code (text edits aside); --force checks them again", flush=True)
        return 0
    t0 = time.perf_counter()
    adata = book_data()
    print(f"cellvae-grid: {adata.uns['source']}", flush=True)
    try:
        with executor_for(workers=a.workers, scheduler=a.scheduler) as ex:
            out = book_grid(adata, executor=ex, jobs=a.jobs, controls=not a.no_controls)
    except KeyboardInterrupt:
        print("cellvae-grid: interrupted; finished runs are cached and the rest resume next time",
              file=sys.stderr)
        return 130
    if not a.no_controls:  # every cache the chapters read is filled: the book may run them in parallel
        mark_grid_complete()
    bad = [r for r in out["results"] + out["followups"] if r.metrics.get("status") != "ok"]
    print(f"cellvae-grid: {out['n_runs']} runs ready in {time.perf_counter() - t0:.0f} s"
          + (f"; {len(bad)} diverged" if bad else ""), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
