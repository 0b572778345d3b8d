"""Minibatches from a cells x genes matrix (CSR or dense) and the seeded validation split.

Rows are densified one minibatch at a time, so a sparse matrix is never densified whole, except
on a GPU with room for it (:func:`on_device`), where slicing on the host would starve the GPU.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
import torch


def as_tensor_rows(x, rows, device) -> torch.Tensor:
    """Dense float32 tensor of ``x[rows]``; only these rows are densified.

    Parameters
    ----------
    x
        Cells x genes matrix, scipy sparse or array-like, or a tensor from :func:`on_device`.
    rows
        Row indices (an integer array) to take.
    device
        Device the tensor is moved to.

    Returns
    -------
    torch.Tensor
        ``(len(rows), genes)`` float32 tensor on ``device``.
    """
    if isinstance(x, torch.Tensor):
        return x.index_select(0, torch.from_numpy(np.asarray(rows, dtype=np.int64)).to(x.device))
    block = x[rows]
    block = block.toarray() if sp.issparse(block) else np.asarray(block)
    return torch.from_numpy(np.ascontiguousarray(block, dtype=np.float32)).to(device)


def on_device(x, device: torch.device, *, share: float = 0.25, block: int = 4096):
    """``x`` as a dense float32 tensor on a CUDA ``device`` if it fits, else ``x`` unchanged.

    Parameters
    ----------
    x
        Cells x genes matrix, scipy sparse or a numpy array (float32).
    device
        Where training runs; on a CPU nothing is copied.
    share
        Largest share of the GPU's free memory that the dense matrix may take.
    block
        Rows densified on the host at a time, so host memory never holds the dense matrix.

    Returns
    -------
    torch.Tensor or the input
        The whole matrix on the GPU, so minibatches are sliced there.
    """
    if device.type != "cuda":
        return x
    free, _ = torch.cuda.mem_get_info(device)
    if x.shape[0] * x.shape[1] * 4 > share * free:
        return x
    out = torch.empty(x.shape, dtype=torch.float32, device=device)
    for start in range(0, x.shape[0], block):
        rows = x[start:start + block]
        rows = rows.toarray() if sp.issparse(rows) else rows
        out[start:start + block] = torch.from_numpy(np.ascontiguousarray(rows, dtype=np.float32))
    return out


def minibatches(n: int, batch_size: int, rng: np.random.Generator | None):
    """Index arrays covering range(n), shuffled when ``rng`` is given.

    Parameters
    ----------
    n
        Number of rows to cover.
    batch_size
        Rows per minibatch; the last one may be smaller.
    rng
        Shuffles which rows go into which minibatch; ``None`` keeps them in order.

    Yields
    ------
    np.ndarray
        Sorted indices of one minibatch; each of range(n) appears exactly once per pass.
    """
    order = rng.permutation(n) if rng is not None else np.arange(n)
    for start in range(0, n, batch_size):
        yield np.sort(order[start:start + batch_size])


def split_validation(n: int, fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Seeded (train, validation) index arrays; validation is empty when fraction is 0.

    Parameters
    ----------
    n
        Number of cells.
    fraction
        Share of cells held out, rounded to the nearest whole cell.
    seed
        Seeds the random permutation.

    Returns
    -------
    train, validation : np.ndarray
        Sorted, disjoint index arrays that together cover range(n).

    Raises
    ------
    ValueError
        If a non-empty validation split would leave fewer than 2 training cells.
    """
    order = np.random.default_rng(seed).permutation(n)
    n_val = int(round(n * fraction))
    if n_val and n - n_val < 2:
        raise ValueError(f"{n} cells are too few for a {fraction} validation split")
    return np.sort(order[n_val:]), np.sort(order[:n_val])
