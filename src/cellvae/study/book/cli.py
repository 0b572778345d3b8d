"""``cellvae-grid``: train, or load from the cache, every run the book needs, with progress.

``make book`` calls it before ``jupyter-book build book``, so the chapters only read the
run cache.  What to train and score is :data:`cellvae.study.chapters.plans.PLANS`, the
chapters' own plans; this command only schedules them.  By default runs not yet cached
train in a local pool of processes, one per CPU core (``--jobs``; one torch thread each),
one pool for the whole grid.  The runs on the book's data that need no model choice go
first, with the runs on the shipped starter beside them; then the runs that depend on the
choice, with SCVI and the calibrated nulls beside them; each chapter's score tasks are
queued as soon as the runs they need are ready.  ``--workers N`` fans runs out over a local
Dask cluster and ``--scheduler ADDRESS`` over an existing one; workers read the data by path
from the run cache, which must be on a filesystem they share.

It is the study's command, not the library's: :mod:`cellvae.cli` never imports the study.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor

from ..runner import grid
from ..runner.pool import default_jobs, local_pool
from ..runner.progress import eta_text, finish, track
from ..runner.runs import run_all
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
    p.add_argument("--dry-run", action="store_true",
                   help="list the runs to train and their projected time on this machine; train nothing")
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
    print(f"cellvae-grid: [{time.perf_counter() - t0:5.0f} s] {msg}{eta_text()}", flush=True)


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
    """Every run the chapters' plans name, trained or loaded, and the scores they read, computed ahead.

    The graph is :data:`cellvae.study.chapters.plans.PLANS`; this function only runs it.  The
    rounds on the book's data go one after another (the follow-ups need the model choice); a
    round on other data (the shipped starter) trains beside them; each plan's tasks are queued
    in the pool as soon as the rounds they need are done.

    Parameters
    ----------
    adata
        The book's data (:func:`cellvae.study.runner.bookdata.book_data`).
    executor
        Where to run (see :func:`cellvae.study.runner.runs.run_all`); None is a local pool.
    jobs
        Processes of the local pool (None: :func:`cellvae.study.runner.pool.default_jobs`).
    controls
        Also run the plans' main-process work: the batch chapter's SCVI, calibrated nulls and
        dose-response simulations (their VAE runs in the pool) and every score.

    Returns
    -------
    dict
        ``results`` (the main grid), ``followups`` (every other run) and the number of runs.
    """
    from ..calls.plan import DATA, choice, ready_tasks, resolve, round_specs, run_task
    from ..chapters.plans import PLANS
    from .dryrun import CONTROLS

    with contextlib.ExitStack() as stack:
        if executor is None:  # one pool for the whole grid: workers start once and never wait for a round
            executor = stack.enter_context(local_pool(default_jobs() if jobs is None else jobs))
        kw = {"executor": executor, "jobs": 1, "verbose": True}  # no executor: serial
        # With workers, a thread trains the other data's rounds beside the main ones.
        # Serially they wait: two trainings in one process would share torch's global RNG.
        side = stack.enter_context(ThreadPoolExecutor(2)) if executor is not None else None
        done, queued, lock, t0 = set(), {}, threading.Lock(), time.perf_counter()

        def finished(round_):  # a round is trained: queue the tasks it completes (from either thread)
            with lock:
                done.add(round_)
                for t in ready_tasks(PLANS, done):
                    if executor is not None and t not in queued:
                        queued[t] = executor.submit(run_task, t.fn)

        def other_data(name):
            print(f"cellvae-grid: the runs on {name} data", flush=True)
            out = run_all(DATA[name](), round_specs(PLANS, (name, False), None, None), **kw, progress=False)
            finished((name, False))
            return out

        others = sorted({g.data for p in PLANS for g in p.groups.values()} - {"book"})
        beside = [side.submit(other_data, n) for n in others] if side else []
        main = grid.report_specs()
        first = round_specs(PLANS, ("book", False), adata, None)
        order = longest_first(first)
        ran = dict(zip((s.key("") for s in order), run_all(adata, order, **kw)))
        results = [ran[s.key("")] for s in main]
        finished(("book", False))
        best = choice(adata, results)
        _stage(t0, f"model chosen on selection cells: {best.label}; the follow-ups next")
        early = [f for p in PLANS if p.beside and side and controls for f in p.beside(adata, best, executor, side)]
        followups = [ran[s.key("")] for s in first if s not in main]
        followups += run_all(adata, longest_first(round_specs(PLANS, ("book", True), adata, best)), **kw)
        finished(("book", True))
        for f in beside:
            followups += f.result()
        if not side:
            followups += [r for n in others for r in other_data(n)]
        _stage(t0, "follow-ups ready" + ("; waiting for SCVI and the calibrated nulls" if early else ""))
        for f in early:
            f.result()
        finish(CONTROLS)
        if controls:
            for p in PLANS:
                if p.last:
                    _stage(t0, f"{p.chapter}: its main-process work, scored in the pool")
                    resolve(p.last)(adata, results, executor=executor)
        for f in queued.values():
            f.result()
        track(None)
        _stage(t0, "done")
    return {"results": results, "followups": followups, "n_runs": len(results) + len(followups)}


def _start_eta(adata, jobs: int, t0: float, controls: bool = True) -> None:
    """Project the build on this machine and track its ETA in every run's line from then on."""
    from .dryrun import eta, minutes, projection

    lines, rest, total = projection(adata, jobs=jobs, probe_scoring=False, controls=controls)
    track(eta(lines, rest, jobs=jobs))
    _stage(t0, f"{sum(len(ln.runs) for ln in lines)} runs to train; projected {minutes(total)} on this machine "
               "(--dry-run lists them)")


def _eta_beside(adata, jobs: int, t0: float, *, pool: bool, controls: bool) -> None:
    """:func:`_start_eta` in a thread while a pool trains (its probes are a few seconds of one core).

    Serially it runs first: the probes build models, which would move torch's global random
    state under a run training in this process.
    """
    if pool:
        threading.Thread(target=_start_eta, args=(adata, jobs, t0, controls), daemon=True).start()
    else:
        _start_eta(adata, jobs, t0, controls)


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

    jobs = a.workers or (a.jobs if a.jobs is not None else default_jobs())
    if a.dry_run:
        from .dryrun import report

        adata = book_data()
        print(f"cellvae-grid: {adata.uns['source']}", flush=True)
        print("every run and score is cached: nothing to train" if grid_complete() else report(adata, jobs=jobs),
              flush=True)
        return 0
    if not (a.force or a.no_controls) and grid_complete():
        print("cellvae-grid: every run and score is cached: the last complete grid ran on this data with "
              "this code (text edits aside); --force checks them again", flush=True)
        return 0
    t0 = time.perf_counter()
    adata = book_data()
    print(f"cellvae-grid: {adata.uns['source']}", flush=True)
    _eta_beside(adata, jobs, t0, pool=bool(a.workers or a.scheduler) or jobs > 1, controls=not a.no_controls)
    try:
        with executor_for(workers=a.workers, scheduler=a.scheduler) as ex:
            out = book_grid(adata, executor=ex, jobs=a.jobs, controls=not a.no_controls)
    except KeyboardInterrupt:
        print("cellvae-grid: interrupted; finished runs are cached and the rest resume next time",
              file=sys.stderr)
        return 130
    finally:
        track(None)
    if not a.no_controls:  # every cache the chapters read is filled: the book may run them in parallel
        mark_grid_complete()
    bad = [r for r in out["results"] + out["followups"] if r.metrics.get("status") != "ok"]
    print(f"cellvae-grid: {out['n_runs']} runs ready in {time.perf_counter() - t0:.0f} s"
          + (f"; {len(bad)} diverged" if bad else ""), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
