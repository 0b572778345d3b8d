"""Atomic, validated checkpoints: weights, config, data fingerprint and history."""

from __future__ import annotations

import os
from pathlib import Path

import torch

from .._io import atomic_path
from .._version import __version__
from .config import VAEConfig, from_dict
from .module import VAE

_FORMAT = "cellvae-checkpoint-1"


class CheckpointError(RuntimeError):
    """A checkpoint that is missing, corrupt or not cellvae's."""


def save_checkpoint(path: str | os.PathLike, module: VAE, **meta) -> Path:
    """Write weights, config and ``meta`` (fingerprint, history, ...) atomically.

    Parameters
    ----------
    path
        Destination file; written to a temporary file beside it and renamed over it only
        once complete, so a failed save leaves any previous checkpoint intact.
    module
        The model whose ``cfg`` and weights (detached, moved to CPU) are stored.
    **meta
        Extra top-level payload entries, e.g. ``fingerprint`` or ``history``; they must be
        plain Python/tensor data that ``torch.load(weights_only=True)`` can read back.

    Returns
    -------
    Path
        ``path`` as a :class:`~pathlib.Path`.
    """
    payload = {"format": _FORMAT, "version": __version__, "config": module.cfg.to_dict(),
               "state_dict": {k: v.detach().cpu() for k, v in module.state_dict().items()}, **meta}
    path = Path(path)
    with atomic_path(path) as tmp:
        torch.save(payload, tmp)
    return path


def load_checkpoint(path: str | os.PathLike) -> tuple[VAE, dict]:
    """Rebuild the module from a checkpoint; returns ``(module, payload)``.

    Parameters
    ----------
    path
        A file written by :func:`save_checkpoint`.

    Returns
    -------
    module : VAE
        The model rebuilt from the stored config and weights, on CPU, in eval mode.
    payload : dict
        Everything stored: ``format``, ``version``, ``config``, ``state_dict`` and the
        ``meta`` entries given to :func:`save_checkpoint`.

    Raises
    ------
    CheckpointError
        If ``path`` is not a file, cannot be read by ``torch.load(weights_only=True)``,
        is not in cellvae's checkpoint format, or holds weights that do not fit its config.
    ConfigError
        If the stored config has an unknown field or an invalid value.
    """
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"checkpoint not found: {path}")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise CheckpointError(f"{path} is corrupt or not a torch checkpoint ({type(exc).__name__})") from None
    if not isinstance(payload, dict) or payload.get("format") != _FORMAT:
        raise CheckpointError(f"{path} is not a cellvae checkpoint")
    module = VAE(from_dict(VAEConfig, payload["config"]))
    try:
        module.load_state_dict(payload["state_dict"])
    except RuntimeError as exc:
        raise CheckpointError(f"{path} has weights that do not fit its config: {exc}") from None
    module.eval()
    return module, payload
