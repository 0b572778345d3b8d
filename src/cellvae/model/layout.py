"""The AnnData layout a :class:`~cellvae.model.CellVAE` binds to: layer, batch column, genes."""

from __future__ import annotations

import anndata as ad
import numpy as np
import pandas as pd
import scipy.sparse as sp

from ..data import DataError, check_counts
from .config import COUNT_LIKELIHOODS


def layer_matrix(adata: ad.AnnData, layer: str | None):
    """The modelled matrix as float32: CSR if stored sparse, else a dense array.

    Parameters
    ----------
    adata
        Cells x genes.
    layer
        Layer to read; ``None`` reads ``adata.X``.

    Returns
    -------
    scipy.sparse.csr_matrix or numpy.ndarray
        Cells x genes, float32.
    """
    x = adata.X if layer is None else adata.layers[layer]
    return sp.csr_matrix(x, dtype=np.float32) if sp.issparse(x) else np.asarray(x, np.float32)


def check_layout(adata: ad.AnnData, layer: str | None, batch_key: str | None,
                 likelihood: str) -> list[str]:
    """Validate the layer (raw counts for count likelihoods) and batch column.

    Parameters
    ----------
    adata
        Cells x genes.
    layer
        Layer to model; ``None`` uses ``adata.X``.
    batch_key
        obs column of batch labels, or ``None``.
    likelihood
        The model's likelihood; a count likelihood needs raw integer counts.

    Returns
    -------
    list of str
        The batch categories, in order (empty without ``batch_key``).

    Raises
    ------
    DataError
        If the layer or batch column is missing, or counts are not raw counts.
    """
    if layer is not None and layer not in adata.layers:
        raise DataError(f"no layers['{layer}']; found layers {sorted(adata.layers)}")
    if likelihood in COUNT_LIKELIHOODS:
        check_counts(layer_matrix(adata, layer))
    if batch_key is None:
        return []
    if batch_key not in adata.obs:
        raise DataError(f"batch_key '{batch_key}' is not an obs column")
    return [str(c) for c in pd.Categorical(adata.obs[batch_key]).categories]


def model_inputs(adata: ad.AnnData | None, layer: str | None, batch_key: str | None,
                 var_names: list[str], batch_categories: list[str]):
    """The matrix and batch codes of ``adata`` for a model bound to this layout.

    Parameters
    ----------
    adata
        Cells with the model's genes, in order; ``None`` is an error.
    layer
        Layer to model; ``None`` uses ``adata.X``.
    batch_key
        obs column of batch labels, or ``None``.
    var_names
        The genes the model was set up with.
    batch_categories
        The batch categories the model was set up with.

    Returns
    -------
    tuple
        :func:`layer_matrix` of ``adata`` and ``(n,)`` int64 batch codes (``None`` without
        ``batch_key``).

    Raises
    ------
    DataError
        If ``adata`` is None, its genes differ from ``var_names``, or its batch column has
        categories outside ``batch_categories``.
    """
    if adata is None:
        raise DataError("no AnnData bound to this model: pass adata")
    if list(adata.var_names) != var_names:
        raise DataError("adata's genes differ from the genes the model was set up with")
    batch = None
    if batch_key:
        codes = pd.Categorical(adata.obs[batch_key].astype(str), categories=batch_categories).codes
        if (codes < 0).any():
            raise DataError(f"obs['{batch_key}'] has categories the model has not seen")
        batch = codes.astype(np.int64)
    return layer_matrix(adata, layer), batch
