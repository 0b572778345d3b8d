"""Running the study's runs on this machine: torch threads per run, and a local process pool.

:func:`cellvae.study.runner.runs.run_all` uses a pool of :func:`default_jobs` processes when two or
more runs are missing from the cache, so ``jupyter-book build book`` alone trains in
parallel as ``cellvae-grid`` does.  Each run pins its torch threads, so its numbers are the
same serially, in the pool or on a Dask cluster.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor

import torch


@contextlib.contextmanager
def torch_threads(n: int):
    """Run the block with ``n`` torch intra-op threads, then put the old count back.

    Parameters
    ----------
    n
        Threads for the block.

    Yields
    ------
    None
    """
    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def default_jobs() -> int:
    """Processes for runs that are not cached: ``$CELLVAE_JOBS``, else every CPU core.

    Returns
    -------
    int
        At least 1.

    Raises
    ------
    ValueError
        If ``CELLVAE_JOBS`` is set to anything but a positive integer.
    """
    raw = os.environ.get("CELLVAE_JOBS", "").strip()
    if not raw:
        return max(1, os.cpu_count() or 1)
    if not raw.isdigit() or int(raw) < 1:
        raise ValueError(f"CELLVAE_JOBS must be a positive integer, got {raw!r}")
    return int(raw)


@contextlib.contextmanager
def local_pool(n: int):
    """A pool of ``n`` fresh (spawned) processes, shut down on exit; None when ``n < 2``.

    Spawned, not forked: a fork of a process whose OpenMP threads have started can hang.

    Parameters
    ----------
    n
        Worker processes.

    Yields
    ------
    concurrent.futures.ProcessPoolExecutor or None
    """
    if n < 2:
        yield None
        return
    pool = ProcessPoolExecutor(max_workers=n, mp_context=multiprocessing.get_context("spawn"))
    try:
        yield pool
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
