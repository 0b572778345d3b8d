"""Minibatch training of a :class:`~cellvae.module.VAE` on a CSR or dense matrix.

Knows nothing of AnnData: it takes a cells x genes matrix and optional integer
batch codes.  Rows are densified one minibatch at a time (on a GPU, the matrix moves there
whole when it fits, and full minibatches replay captured CUDA graphs: :mod:`.graphstep`).
On CUDA, deterministic kernels are switched on for the fit, so the same seed gives the same
numbers there as well.
"""

from __future__ import annotations

import contextlib
import copy
import math
import os
import random
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import scipy.sparse as sp
import torch
from tqdm import tqdm

from .batches import as_tensor_rows, minibatches, on_device, split_validation
from .config import ConfigError, TrainConfig, reject_unknown
from .fastpath import fast_path
from .graphstep import deterministic, graph_step
from .module import VAE
from .resume import LoopState, load_state, run_identity, save_state


class TrainingDiverged(RuntimeError):
    """The loss became NaN or inf; the message names the cause and a remedy."""


@dataclass
class TrainResult:
    history: list[dict] = field(default_factory=list)  # one row per epoch
    best_epoch: int = -1       # epoch whose weights were kept
    stopped: str = ""          # "max_epochs", "early_stopping" or "interrupted"
    seconds: float = 0.0       # wall time of the loop
    precision: str = "32"      # TrainConfig.precision of the fit (what a saved model records)


def seed_everything(seed: int) -> None:
    """Seed Python, numpy and torch (CPU and CUDA).

    Parameters
    ----------
    seed
        Seed for :mod:`random`, numpy's legacy global RNG (taken mod 2**32) and torch.
    """
    random.seed(seed)
    np.random.seed(seed % 2**32)  # noqa: NPY002  (for third-party code that uses the legacy RNG)
    torch.manual_seed(seed)


def select_device(name: str = "auto") -> torch.device:
    """``auto`` picks cuda, then mps, then cpu; anything else is passed to torch.

    Parameters
    ----------
    name
        ``"auto"`` or a torch device string such as ``"cpu"`` or ``"cuda:1"``.

    Returns
    -------
    torch.device
        The device to train on.
    """
    if name != "auto":
        dev = torch.device(name)
    elif torch.cuda.is_available():
        dev = torch.device("cuda")
    elif getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
        dev = torch.device("mps")
    else:
        dev = torch.device("cpu")
    if dev.type == "cuda":  # deterministic cuBLAS; read when cuBLAS starts, so set it first
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    return dev


def kl_weight(epoch: int, cfg: TrainConfig, beta: float) -> float:
    """Linear warm-up 0 -> beta; capped so the last epoch always uses the full objective.

    Parameters
    ----------
    epoch
        Current epoch, counted from 0.
    cfg
        Supplies ``kl_warmup_epochs`` and ``max_epochs``.
    beta
        Target KL weight (the model's ``cfg.beta``).

    Returns
    -------
    float
        ``beta * min(1, epoch / warm)`` with ``warm = min(kl_warmup_epochs, max_epochs - 1)``;
        ``beta`` itself when ``warm`` is 0.
    """
    warm = min(cfg.kl_warmup_epochs, cfg.max_epochs - 1)
    return beta if warm == 0 else beta * min(1.0, epoch / warm)


def _divergence_message(module: VAE, epoch: int, x_max: float) -> str:
    lik = module.cfg.likelihood
    if lik.startswith("gaussian") and x_max > 50:
        remedy = "use likelihood='nb' on raw counts, or the log-transformed data"
    else:
        remedy = "lower lr, keep grad_clip on, or check the input for extreme values"
    return (f"{lik} likelihood diverged (non-finite loss) at epoch {epoch}"
            f" (max input value {x_max:.3g}); {remedy}")


def _run_epoch(module, x, b, idx, cfg, beta, device, rng, opt=None, step=None):
    """One pass over ``idx``; trains when ``opt`` is given, replaying ``step``'s CUDA graphs for
    full minibatches when given. Returns the metrics averaged over cells."""
    module.train(opt is not None)
    sels = [idx[rows] for rows in minibatches(len(idx), cfg.batch_size, rng)]
    sums = [0.0] * 4
    if step is not None:
        sums, sels = step.run(sels, train=opt is not None, beta=beta)
    tot = dict(zip(("loss", "elbo", "recon", "kl"), sums))
    for sel in sels:
        if opt is not None and len(sel) < 2 and module.cfg.norm == "batch":
            continue  # BatchNorm cannot train on one cell
        xb = as_tensor_rows(x, sel, device)
        bb = None if b is None else b[torch.from_numpy(sel).to(device)]
        with torch.set_grad_enabled(opt is not None):
            out = module(xb, bb, beta=beta)
            parts = out.sums().tolist()  # one device sync per step
            if not math.isfinite(parts[0]):
                raise FloatingPointError(float(xb.max()))
            if opt is not None:
                opt.zero_grad(set_to_none=step is None)  # a graph keeps its gradients' addresses
                out.loss.backward()
                if cfg.grad_clip > 0:
                    torch.nn.utils.clip_grad_norm_(module.parameters(), cfg.grad_clip)
                opt.step()
        tot["loss"] += parts[0] * len(sel)
        for k, v in zip(("elbo", "recon", "kl"), parts[1:]):
            tot[k] += v
    return {k: v / max(len(idx), 1) for k, v in tot.items()}


def adam(module: VAE, cfg: TrainConfig) -> torch.optim.Adam:
    """Adam with the fused kernel (one pass over all parameters) where torch has one.

    Parameters
    ----------
    module
        The model, already on its device.
    cfg
        Supplies ``lr`` and ``weight_decay``.

    Returns
    -------
    torch.optim.Adam
        Fused on CPU and CUDA (torch >= 2.4); the default implementation elsewhere.
    """
    params = list(module.parameters())
    try:
        return torch.optim.Adam(params, lr=cfg.lr, weight_decay=cfg.weight_decay, fused=True)
    except (RuntimeError, ValueError, TypeError):  # an older torch, or a device without it
        return torch.optim.Adam(params, lr=cfg.lr, weight_decay=cfg.weight_decay)


def validation_seed(cfg: TrainConfig) -> int:
    """The seed of the validation split: ``split_seed`` if set, else ``seed``.

    Parameters
    ----------
    cfg
        The training config.

    Returns
    -------
    int
    """
    return cfg.seed if cfg.split_seed is None else cfg.split_seed


def train(module: VAE, x, *, batch: np.ndarray | None = None, config: TrainConfig | None = None,
          checkpoint: str | os.PathLike | None = None, **unknown) -> TrainResult:
    """Fit ``module`` to the rows of ``x`` (cells x genes, CSR or dense).

    Adam with KL warm-up, gradient clipping and early stopping on the validation
    objective (the negative ELBO when beta = 1).  The best weights seen at full
    beta are restored at the end, also after Ctrl-C.  With ``checkpoint``, a snapshot
    is written every ``config.checkpoint_every`` epochs, an existing one is resumed
    from (giving the same result as an uninterrupted run), and it is deleted once
    training finishes.

    Parameters
    ----------
    module
        The model to fit in place; it is moved to ``config.device`` and left in eval mode.
    x
        Cells x genes matrix, CSR or dense, with ``module.cfg.n_input`` genes.
    batch
        ``(n,)`` integer batch codes in ``[0, n_batch)``; required if the model is
        batch-conditional.
    config
        Optimiser, schedule, early stopping, seed and device; ``None`` uses the defaults.
    checkpoint
        Path of the resume snapshot (:mod:`cellvae.model.resume`); None writes none.
    **unknown
        Not accepted: training options go in ``config`` (``config=TrainConfig(max_epochs=5)``);
        any other keyword raises :class:`~cellvae.model.ConfigError`.

    Returns
    -------
    TrainResult
        Per-epoch train/validation metrics (``history``), the epoch whose weights were
        kept (``best_epoch``), why training stopped and the wall time in seconds.

    Raises
    ------
    ConfigError
        On an unknown keyword, such as a :class:`TrainConfig` field passed outside ``config``.
    ValueError
        If ``x`` does not have ``module.cfg.n_input`` columns, or the validation split
        would leave fewer than 2 training cells.
    TrainingDiverged
        If a minibatch loss is NaN or inf.
    ResumeMismatch
        If ``checkpoint`` holds a snapshot of another model, config or data.
    """
    misplaced = sorted(set(unknown) & set(TrainConfig.__dataclass_fields__))
    if misplaced:
        raise ConfigError(f"train: {misplaced} go in config=TrainConfig({misplaced[0]}=...); "
                          "valid options: batch, config, checkpoint")
    reject_unknown(train, unknown)
    cfg = config or TrainConfig()
    if x.shape[1] != module.cfg.n_input:
        raise ValueError(f"x has {x.shape[1]} genes but the model expects {module.cfg.n_input}")
    x = sp.csr_matrix(x, dtype=np.float32) if sp.issparse(x) else np.asarray(x, dtype=np.float32)
    seed_everything(cfg.seed)
    device = select_device(cfg.device)
    module.to(device)
    b = None if batch is None else torch.as_tensor(np.asarray(batch, dtype=np.int64), device=device)
    tr, va = split_validation(x.shape[0], cfg.validation_fraction, validation_seed(cfg))
    opt = adam(module, cfg)
    rng = np.random.default_rng(cfg.seed)
    ident = run_identity(module, cfg, x) if checkpoint is not None else ""
    x = on_device(x, device)
    loop = (load_state(checkpoint, identity=ident, module=module, opt=opt, rng=rng, precision=cfg.precision)
            if checkpoint is not None else None) or LoopState()
    res = TrainResult(history=loop.history, best_epoch=loop.best_epoch, precision=cfg.precision)
    t0 = time.perf_counter()
    bar = tqdm(range(loop.epoch, cfg.max_epochs), disable=not cfg.progress, initial=loop.epoch,
               total=cfg.max_epochs, desc=f"training {module.cfg.likelihood} VAE")
    det = contextlib.ExitStack()
    try:
        det.enter_context(deterministic(device))
        det.enter_context(fast_path(module, precision=cfg.precision, compile_likelihood=cfg.compile_likelihood,
                                    device=device))
        step = graph_step(module, opt, x, b, size=cfg.batch_size, grad_clip=cfg.grad_clip,
                          eval_beta=module.cfg.beta, n_train=len(tr), enabled=cfg.cuda_graph)
        for epoch in bar:
            if _epoch(module, x, b, tr, va, cfg, device, rng, opt, epoch, loop, step):
                res.stopped = "early_stopping"
                break
            bar.set_postfix(loss=f"{loop.history[-1]['train_loss']:.4g}",
                            val_elbo=f"{loop.history[-1]['val_elbo']:.4g}")
            if checkpoint is not None and loop.epoch % cfg.checkpoint_every == 0:
                save_state(checkpoint, identity=ident, module=module, opt=opt, loop=loop, rng=rng,
                           precision=cfg.precision)
        else:
            res.stopped = "max_epochs"
    except KeyboardInterrupt:
        res.stopped = "interrupted"
        warnings.warn(f"training interrupted after {len(loop.history)} epoch(s); "
                      f"keeping the best state (epoch {loop.best_epoch})", stacklevel=2)
    finally:
        bar.close()
        det.close()
    if checkpoint is not None and res.stopped != "interrupted":
        Path(checkpoint).unlink(missing_ok=True)  # finished: nothing left to resume
    if loop.best_state is not None:
        module.load_state_dict(loop.best_state)
    module.eval()
    res.best_epoch, res.seconds = loop.best_epoch, time.perf_counter() - t0
    return res


def _epoch(module, x, b, tr, va, cfg, device, rng, opt, epoch: int, loop: LoopState, step=None) -> bool:
    """Train one epoch, validate, update ``loop``; True when early stopping says stop."""
    beta = kl_weight(epoch, cfg, module.cfg.beta)
    try:
        trm = _run_epoch(module, x, b, tr, cfg, beta, device, rng, opt, step)
        with torch.no_grad():
            vam = _run_epoch(module, x, b, va, cfg, module.cfg.beta, device, None, None, step) if len(va) else trm
    except FloatingPointError as exc:
        raise TrainingDiverged(_divergence_message(module, epoch, float(exc.args[0]))) from None
    loop.history.append({"epoch": epoch, "beta": beta, **{f"train_{k}": v for k, v in trm.items()},
                         **{f"val_{k}": v for k, v in vam.items()}})
    loop.epoch = epoch + 1
    if beta != module.cfg.beta:
        return False  # only the full objective competes for "best"
    before, loss = loop.best, vam["loss"]
    if loss < before:  # the best weights follow every gain; only a real one resets the patience count
        loop.best, loop.best_epoch = loss, epoch
        loop.best_state = copy.deepcopy(module.state_dict())
    real = math.isinf(before) or before - loss > cfg.min_rel_gain * abs(before)
    loop.bad = 0 if real and loss < before else loop.bad + 1
    return bool(cfg.patience and loop.bad >= cfg.patience)
