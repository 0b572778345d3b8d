"""Minibatches from a cells x genes matrix (CSR or dense) and the seeded validation split.

Rows are densified one minibatch at a time, so a sparse matrix is never densified whole.
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
        Cells x genes matrix, scipy sparse or array-like.
    rows
        Row indices (an integer array) to take.
    device
        Device the tensor is moved to.

    Returns
    -------
    torch.Tensor
        ``(len(rows), genes)`` float32 tensor on ``device``.
    """
    block = x[rows]
    block = block.toarray() if sp.issparse(block) else np.asarray(block)
    return torch.from_numpy(np.ascontiguousarray(block, dtype=np.float32)).to(device)


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
