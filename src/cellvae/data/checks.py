"""What a file must hold before a model is fitted to it, each failure a one-line :class:`DataError`.

:func:`check_fit` checks the whole fit input (an obs column of labels alone is
:func:`~cellvae.data.schema.check_labels`'s): cells and genes present, raw counts, no empty matrix and no empty cell, at least
one minibatch of cells, and at least :data:`MIN_BATCH_CELLS` cells per batch of a
batch-conditional model.  ``cellvae fit`` and the book's loader call them before anything is
trained or written.
"""

from __future__ import annotations

import anndata as ad
import numpy as np
import scipy.sparse as sp

from .schema import DataError, check_counts, check_labels

#: Cells a batch needs when the model is conditioned on batch: one alone cannot be told from its batch.
MIN_BATCH_CELLS = 2
#: Fewest cells of a fit: one to train on and one to stop early on.
MIN_CELLS = 2


def _cells(n: int) -> str:
    return f"{n:,} cell" if n == 1 else f"{n:,} cells"


def check_fit(adata: ad.AnnData, *, layer: str | None, batch_key: str | None, batch_size: int) -> None:
    """Raise :class:`DataError` unless ``adata`` can be fitted: the checks of ``cellvae fit``.

    Parameters
    ----------
    adata
        The cells and genes to fit.
    layer
        Layer of raw counts; ``None`` reads ``X``.
    batch_key
        obs column the model is conditioned on, or ``None``.
    batch_size
        Cells per minibatch: a fit needs at least one minibatch of cells.

    Raises
    ------
    DataError
        On no cells or genes, counts that are not raw, a matrix or a cell with no counts, fewer
        cells than a minibatch (at least :data:`MIN_CELLS`), a batch column with missing values,
        or a batch of fewer than :data:`MIN_BATCH_CELLS` cells.
    """
    if adata.n_obs == 0 or adata.n_vars == 0:
        raise DataError(f"the data holds {_cells(adata.n_obs)} and {adata.n_vars:,} genes; a fit needs both")
    if layer is not None and layer not in adata.layers:
        raise DataError(f"no layers['{layer}']; found layers {sorted(adata.layers)}")
    x = adata.X if layer is None else adata.layers[layer]
    check_counts(x)
    per_cell = np.asarray(x.sum(axis=1)).ravel() if sp.issparse(x) else np.asarray(x).sum(axis=1)
    if not per_cell.any():
        raise DataError("the count matrix holds no counts: every entry is 0")
    empty = int((per_cell == 0).sum())
    if empty:
        raise DataError(f"{_cells(empty)} of {adata.n_obs:,} have no counts; drop them first "
                        "(scanpy.pp.filter_cells(adata, min_counts=1))")
    need = max(batch_size, MIN_CELLS)
    if adata.n_obs < need:
        raise DataError(f"{_cells(adata.n_obs)}, fewer than the {need:,} a fit needs (one minibatch of "
                        f"{batch_size:,}, and at least {MIN_CELLS}); lower --batch-size to fit fewer cells")
    if batch_key is None:
        return
    check_labels(adata.obs, batch_key)
    sizes = adata.obs[batch_key].astype(str).value_counts()
    small = sizes[sizes < MIN_BATCH_CELLS]
    if len(small):
        names = ", ".join(f"'{b}'" for b in small.index[:5]) + (" and more" if len(small) > 5 else "")
        raise DataError(f"obs['{batch_key}'] has {len(small)} batch{'es' if len(small) > 1 else ''} of fewer than "
                        f"{MIN_BATCH_CELLS} cells ({names}); a batch-conditional model needs at least "
                        f"{MIN_BATCH_CELLS} per batch")
