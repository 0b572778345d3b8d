"""Resumable training: an atomic snapshot of everything the training loop needs to go on.

:func:`cellvae.model.train` given a ``checkpoint`` path writes one every
``TrainConfig.checkpoint_every`` epochs: weights, optimiser state, the next epoch, the
best state and its bookkeeping, the history and every random state (torch, numpy's
generator, Python's).  Resuming from it reproduces the uninterrupted run exactly on the
same stack.  A snapshot written for another model, config or data is refused; a corrupt
one is reported and training starts afresh.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import random
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from .._io import atomic_path

_FORMAT = "cellvae-train-state-1"


class ResumeMismatch(ValueError):
    """A training snapshot that belongs to another model, config or data set."""


@dataclass
class LoopState:
    """The training loop's bookkeeping between epochs."""

    epoch: int = 0                  # the next epoch to run
    best: float = math.inf          # best validation loss at full beta so far
    best_epoch: int = -1            # the epoch that reached it
    bad: int = 0                    # epochs since the last improvement
    best_state: dict | None = None  # the weights of best_epoch
    history: list = field(default_factory=list)  # one row per finished epoch


def run_identity(module, config, x) -> str:
    """A digest of what a snapshot must match: model config, training config and data.

    Parameters
    ----------
    module
        The :class:`~cellvae.model.module.VAE` being trained.
    config
        Its :class:`~cellvae.model.config.TrainConfig`; ``progress``, ``device``,
        ``cuda_graph`` and ``compile_likelihood`` are left out, so a run may resume on another
        device, without a progress bar, or with the steps launched or compiled otherwise (they
        give the same numbers to float32 precision).  ``precision`` counts only when it is not
        ``"32"``, so a snapshot written before the field existed still resumes.
    x
        The training matrix (shape, non-zeros and sum identify it).

    Returns
    -------
    str
        A sha256 hex digest.
    """
    tc = {k: v for k, v in config.to_dict().items()
          if k not in ("progress", "device", "cuda_graph", "compile_likelihood") and (k, v) != ("precision", "32")}
    nnz = x.nnz if hasattr(x, "nnz") else int(np.count_nonzero(x))
    blob = json.dumps({"model": module.cfg.to_dict(), "train": tc,
                       "data": [list(x.shape), int(nnz), float(x.sum())]}, sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()


def save_state(path: str | os.PathLike, *, identity: str, module, opt, loop: LoopState,
               rng: np.random.Generator, precision: str) -> None:
    """Write a training snapshot atomically.

    Parameters
    ----------
    path
        Destination file.
    identity
        :func:`run_identity` of the run.
    module, opt
        The model and its optimiser.
    loop
        The loop's bookkeeping after the last finished epoch.
    rng
        The generator that shuffles minibatches.
    precision
        ``TrainConfig.precision`` of the run, recorded in the snapshot.
    """
    cuda = [s.cpu() for s in torch.cuda.get_rng_state_all()] if torch.cuda.is_available() else []
    payload = {
        "format": _FORMAT, "identity": identity, "module": module.state_dict(),
        "optimizer": opt.state_dict(), "loop": vars(loop), "rng_torch": torch.get_rng_state(),
        "rng_cuda": cuda, "rng_numpy": rng.bit_generator.state, "rng_python": random.getstate(),
        "precision": precision,
    }
    with atomic_path(path) as tmp:
        torch.save(payload, tmp)


def load_state(path: str | os.PathLike, *, identity: str, module, opt,
               rng: np.random.Generator, precision: str) -> LoopState | None:
    """Restore a snapshot into ``module``, ``opt``, ``rng`` and the global random states.

    Parameters
    ----------
    path
        A file written by :func:`save_state`.
    identity
        :func:`run_identity` of the run that wants to resume.
    module, opt
        Freshly built model and optimiser, overwritten in place.
    rng
        The minibatch generator, overwritten in place.
    precision
        ``TrainConfig.precision`` of the run that wants to resume; a snapshot without the
        entry (written before it existed) was trained at ``"32"``.

    Returns
    -------
    LoopState or None
        The loop's bookkeeping, or None when ``path`` is absent or corrupt (a warning
        names the corrupt file, which is then ignored and later overwritten).

    Raises
    ------
    ResumeMismatch
        If the snapshot was written for another model, config, precision or data.
    """
    path = Path(path)
    if not path.is_file():
        return None
    try:
        p = torch.load(path, map_location="cpu", weights_only=True)
        if not isinstance(p, dict) or p.get("format") != _FORMAT:
            raise ValueError("not a cellvae training snapshot")
    except Exception as exc:  # truncated file, garbage, foreign pickle ...
        warnings.warn(f"training snapshot {path} is corrupt ({type(exc).__name__}); starting afresh",
                      stacklevel=3)
        return None
    if p.get("precision", "32") != precision:
        raise ResumeMismatch(f"{path} was trained at precision {p.get('precision', '32')!r}, not {precision!r}; "
                             "resume at that precision, or delete it to start afresh")
    if p["identity"] != identity:
        raise ResumeMismatch(f"{path} was written for another model, config or data; "
                             "delete it to start afresh")
    module.load_state_dict(p["module"])
    opt.load_state_dict(p["optimizer"])
    torch.set_rng_state(p["rng_torch"])
    if p["rng_cuda"] and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(p["rng_cuda"])
    rng.bit_generator.state = p["rng_numpy"]
    random.setstate(p["rng_python"])
    return LoopState(**p["loop"])
