"""The runner: train and evaluate each run, or load it from the run cache; it can fan out.

Each :class:`~cellvae.study.runner.grid.RunSpec` is trained on the ``train`` split of a prepared
AnnData, less the model choice's selection cells (:func:`fit_and_select`), and evaluated on
the fitted, the selection and the test cells.  Results and weights are cached under
``$CELLVAE_CACHE/runs`` (:mod:`cellvae.study.runner.cache`); an interrupted run leaves a resume
snapshot there and continues from it next time.  Runs are independent: ``run_all``
accepts any :class:`concurrent.futures.Executor`, so a process pool (or a
distributed engine with the same interface) can run them.
"""

from __future__ import annotations

import functools
import time
from concurrent.futures import Executor, as_completed
from dataclasses import replace
from pathlib import Path

import anndata as ad
import numpy as np
import pandas as pd
import torch
from tqdm import tqdm

from ...data import get_variant
from ...model import (
    VAE,
    TrainingDiverged,
    active_units,
    bootstrap_mean,
    evaluate,
    iwae,
    latent_mean,
    seed_everything,
    split_validation,
    train,
    validation_seed,
)
from .cache import RunCache, RunResult, data_key  # noqa: F401 (RunResult re-exported)
from .grid import RUN_THREADS, RunSpec
from .pool import default_jobs, local_pool, torch_threads
from .ppc import run_ppc
from .progress import describe
from .store import cached_file

#: Share of the training split held out from both training and early stopping: the cells the
#: model choice is made on, so that no cell both stops a run and chooses among runs.
SELECT_FRACTION = 0.1
#: Seeds that draw; fixed, so every run and seed is compared on the same selection cells.
SELECT_SEED = 0


def fit_and_select(adata: ad.AnnData) -> tuple[np.ndarray, np.ndarray]:
    """The training split cut into the cells a run is fitted on and the model choice's cells.

    Parameters
    ----------
    adata
        Prepared data with ``obs['split']``.

    Returns
    -------
    fit, select : numpy.ndarray
        Boolean cell masks: :data:`SELECT_FRACTION` of the training cells, drawn with
        :data:`SELECT_SEED`, are ``select``; the rest (which early stopping splits again) ``fit``.
    """
    train = np.flatnonzero((adata.obs["split"] == "train").to_numpy())
    keep, held = split_validation(len(train), SELECT_FRACTION, SELECT_SEED)
    fit, select = np.zeros(adata.n_obs, bool), np.zeros(adata.n_obs, bool)
    fit[train[keep]], select[train[held]] = True, True
    return fit, select


def _batch_codes(adata: ad.AnnData) -> np.ndarray:
    return pd.Categorical(adata.obs["batch"].astype(str)).codes.astype(np.int64)


def run_one(adata: ad.AnnData, spec: RunSpec, *,
            snapshot: str | Path | None = None) -> tuple[RunResult, VAE | None]:
    """Train ``spec`` on the train split's fitted cells; evaluate on them, the selection and the test cells (nats per cell).

    Every run uses :data:`~cellvae.study.runner.grid.RUN_THREADS` torch threads, so its numbers
    do not depend on where it runs (serially, in a process pool or on Dask).

    Parameters
    ----------
    adata
        Prepared data with ``obs['split']`` and ``obs['batch']``.
    spec
        The run; ``n_input`` and the batch settings of its model config are set from the data.
    snapshot
        Resume snapshot path for the training loop (see :func:`cellvae.model.train`).

    Returns
    -------
    result : RunResult
        Metrics ``status``, ``seconds``, ``epochs``, ``best_epoch``, ``stopped``,
        ``{train,test}_{elbo,recon,kl}`` (means; train: the fitted cells), ``val_iwae`` (mean
        IWAE of the cells early stopping watched), ``select_iwae`` and ``select_iwae_cells``
        (mean and per-cell IWAE of :func:`fit_and_select`'s selection cells, which neither train
        nor stop a run: the model choice's criterion), ``test_iwae`` and ``test_iwae_se``,
        ``active_units`` and ``unit_activity`` (on test cells), ``ppc`` (posterior
        predictive errors on test cells, :func:`~cellvae.study.runner.ppc.run_ppc`); latent means of every cell
        and the per-test-cell IWAE.  If training diverges, only ``status`` (the error
        message) and ``seconds``.
    module : VAE or None
        The trained model, or None when training diverged.

    Raises
    ------
    KeyboardInterrupt
        When training was interrupted: an unfinished run is neither evaluated nor cached.
    """
    with torch_threads(RUN_THREADS):
        return _run_one(adata, spec, snapshot)


def _run_one(adata: ad.AnnData, spec: RunSpec, snapshot) -> tuple[RunResult, VAE | None]:
    train_mask, select = fit_and_select(adata)
    test_mask = (adata.obs["split"] == "test").to_numpy()
    x = get_variant(adata, spec.variant)
    codes = _batch_codes(adata)
    n_batch = int(codes.max()) + 1 if spec.conditional else 0
    b = codes if spec.conditional else None
    seed = spec.train.seed
    seed_everything(seed)
    module = VAE(replace(spec.model, n_input=adata.n_vars, n_batch=n_batch, encode_batch=spec.conditional))
    tcfg = spec.train
    t0 = time.perf_counter()

    def sub(mask):
        return None if b is None else b[mask]

    try:
        tr = train(module, x[train_mask], batch=sub(train_mask), config=tcfg, checkpoint=snapshot)
    except TrainingDiverged as exc:
        return RunResult(spec, {"status": str(exc), "seconds": time.perf_counter() - t0}), None
    if tr.stopped == "interrupted":  # never evaluated, never cached: the run must be redone
        raise KeyboardInterrupt(f"{spec.label} interrupted after {len(tr.history)} epoch(s)")
    m = {"status": "ok", "seconds": tr.seconds, "epochs": len(tr.history), "best_epoch": tr.best_epoch,
         "stopped": tr.stopped, "torch_threads": torch.get_num_threads()}  # sums' order: part of the stack
    for split, mask in (("train", train_mask), ("test", test_mask)):
        ev = evaluate(module, x[mask], batch=sub(mask), seed=seed)
        m.update({f"{split}_{k}": ev[f"{k}_mean"] for k in ("elbo", "recon", "kl")})
    m["val_iwae"] = _validation_iwae(module, x[train_mask], sub(train_mask), spec)
    sel_iw = iwae(module, x[select], batch=sub(select), k=spec.iwae_k, seed=seed)
    m["select_iwae"], m["select_iwae_cells"] = float(np.mean(sel_iw)), [float(v) for v in sel_iw]
    test_iw = iwae(module, x[test_mask], batch=sub(test_mask), k=spec.iwae_k, seed=seed)
    m["test_iwae"], m["test_iwae_se"] = bootstrap_mean(test_iw, seed=seed)
    latent = latent_mean(module, x, batch=b)
    m["active_units"], var = active_units(latent[test_mask])
    m["unit_activity"] = var.tolist()
    m["ppc"] = run_ppc(module, adata, spec.variant, test_mask, b, seed=seed)  # held-out cells
    return RunResult(spec, m, tr.history, latent, test_iw), module


def _validation_iwae(module: VAE, x_train, b_train, spec: RunSpec) -> float:
    """Mean IWAE of the training split's validation cells, the ones early stopping watched."""
    _, va = split_validation(x_train.shape[0], spec.train.validation_fraction, validation_seed(spec.train))
    if not len(va):
        return float("nan")
    b = None if b_train is None else b_train[va]
    return float(np.mean(iwae(module, x_train[va], batch=b, k=spec.iwae_k, seed=spec.train.seed)))


def _cached_run(adata: ad.AnnData, spec: RunSpec, cache_root: str) -> RunResult:
    cache = RunCache(cache_root)
    key = spec.key(data_key(adata))
    hit = cache.load(key, spec)
    if hit is not None:
        return hit
    res, module = run_one(adata, spec, snapshot=cache.root / f"{key}.resume.pt")
    cache.save(key, res, module)
    return res


@functools.lru_cache(maxsize=2)
def _read(path: str) -> ad.AnnData:
    return ad.read_h5ad(path)


def _cached_run_from_path(path: str, spec: RunSpec, cache_root: str) -> RunResult:
    """What a worker runs: the data is read by path (once per worker process), never pickled."""
    return _cached_run(_read(path), spec, cache_root)


def shared_copy(adata: ad.AnnData, cache: RunCache) -> str:
    """Write ``adata`` once beside the run cache for workers to read; return its path.

    Parameters
    ----------
    adata
        Prepared data.
    cache
        The run cache, on a filesystem every worker sees.

    Returns
    -------
    str
        ``<cache root>/data/<data key>.h5ad``, written atomically if absent.
    """
    return str(cached_file(cache.root / "data" / f"{data_key(adata)}.h5ad", adata.write_h5ad))


def run_all(adata: ad.AnnData, specs: list[RunSpec], *, cache: RunCache | None = None,
            executor: Executor | None = None, jobs: int | None = None, progress: bool = True,
            verbose: bool = False) -> list[RunResult]:
    """Run (or load) every spec; results come back in the order of ``specs``.

    Parameters
    ----------
    adata
        Prepared data (:func:`cellvae.data.prepare`), with ``obs['split']``.
    specs
        The runs.
    cache
        Where results live; defaults to ``$CELLVAE_CACHE/runs``.  With an executor it must
        be on a filesystem that every worker sees.
    executor
        Any ``concurrent.futures.Executor``: a ``ProcessPoolExecutor``, or a Dask
        ``Client.get_executor()``.  The data is written once beside the cache and read by
        path in each worker, never pickled into tasks.  None runs here, or in a local
        pool of ``jobs`` processes when two or more runs are missing from the cache.
    jobs
        Processes of that local pool; None reads :func:`default_jobs`, 1 runs serially.
    progress
        Show a progress bar over runs.
    verbose
        Also print one line per run: epochs, why it stopped, held-out ELBO, time.

    Returns
    -------
    list of RunResult
        One per spec, loaded from the cache where present, otherwise trained and cached.
    """
    cache = cache or RunCache()
    root = str(cache.root)
    bar = tqdm(total=len(specs), disable=not progress, desc="runs", unit="run")
    out: list[RunResult | None] = [None] * len(specs)

    def done(i: int, res: RunResult) -> None:
        out[i] = res
        bar.update()
        if verbose:
            tqdm.write(describe(res))

    jobs = default_jobs() if jobs is None else jobs
    if executor is None and jobs > 1:
        dk = data_key(adata)
        jobs = min(jobs, sum(not cache.path(s.key(dk)).exists() for s in specs))
    with local_pool(jobs if executor is None else 0) as pool:
        executor = executor or pool
        if executor is None:
            for i, s in enumerate(specs):
                bar.set_postfix_str(s.label)
                done(i, _cached_run(adata, s, root))
        else:
            path = shared_copy(adata, cache)
            futures = {executor.submit(_cached_run_from_path, path, s, root): i
                       for i, s in enumerate(specs)}
            for f in as_completed(futures):
                done(futures[f], f.result())
    bar.close()
    return out
