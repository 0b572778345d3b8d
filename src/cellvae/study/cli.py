"""``cellvae-grid``: train, or load from the cache, every run the book needs, with progress.

``make book`` calls it before ``jupyter-book build book``, so the chapters only read the
run cache.  The grid runs in two rounds: the results chapter's runs, then the runs that
depend on its model choice (the beta sweep and the batch comparison), and last the
batch-effect controls.  ``--workers N`` fans runs out over a local Dask cluster and
``--scheduler ADDRESS`` over an existing one; workers read the data by path from the run
cache, which must be on a filesystem they share.

It is the study's command, not the library's: :mod:`cellvae.cli` never imports the study.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import time

from .grid import batch_pair, report_specs, sweep_specs, zinb_of
from .runs import run_all


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="cellvae-grid", description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    where = p.add_mutually_exclusive_group()
    where.add_argument("--workers", type=int, default=0,
                       help="start a local Dask cluster with this many worker processes (0: serial)")
    where.add_argument("--scheduler", default=None,
                       help="address of a running Dask scheduler, e.g. tcp://10.0.0.5:8786")
    p.add_argument("--no-controls", action="store_true", help="skip the batch-effect controls")
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


def book_grid(adata, *, executor=None, controls: bool = True) -> dict:
    """Every run the book reads, trained or loaded, in the order the chapters need them.

    Parameters
    ----------
    adata
        The book's data (:func:`cellvae.study.report.book_data`).
    executor
        Where to run (see :func:`cellvae.study.runs.run_all`); None is serial.
    controls
        Also compute the batch-effect controls (serially: two small runs and metrics).

    Returns
    -------
    dict
        ``results`` (the grid), ``followups`` (sweep, batch pair, the ZINB run, the Gaussians on raw counts and the real
        cells chapter's runs on the starter) and the
        number of runs.
    """
    from .selection import choose_model

    kw = {"executor": executor, "verbose": True}
    results = run_all(adata, report_specs(), **kw)
    best = choose_model(results, family="nb/raw").best.spec
    followups = run_all(adata, sweep_specs(best) + list(batch_pair(best)) + [zinb_of(best)], **kw)
    from .failures import raw_gaussian_specs

    followups += run_all(adata, raw_gaussian_specs(), **kw)
    from .real import real_specs, starter_data

    print("cellvae-grid: the real cells chapter's runs on the shipped starter", flush=True)
    followups += run_all(starter_data(), real_specs(), **kw)
    if controls:
        from .controls import run_controls

        print("cellvae-grid: batch-effect controls", flush=True)
        run_controls()
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
    a = _parser().parse_args(argv)
    from .report import book_data

    t0 = time.perf_counter()
    adata = book_data()
    print(f"cellvae-grid: {adata.uns['source']}", flush=True)
    try:
        with executor_for(workers=a.workers, scheduler=a.scheduler) as ex:
            out = book_grid(adata, executor=ex, controls=not a.no_controls)
    except KeyboardInterrupt:
        print("cellvae-grid: interrupted; finished runs are cached and the rest resume next time",
              file=sys.stderr)
        return 130
    bad = [r for r in out["results"] + out["followups"] if r.metrics.get("status") != "ok"]
    print(f"cellvae-grid: {out['n_runs']} runs ready in {time.perf_counter() - t0:.0f} s"
          + (f"; {len(bad)} diverged" if bad else ""), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
