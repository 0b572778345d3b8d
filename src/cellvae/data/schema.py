"""The schema cellvae relies on: required columns, raw counts, starter-kit names."""

from __future__ import annotations

import anndata as ad
import numpy as np
import pandas as pd
import scipy.sparse as sp

REQUIRED_OBS = ("cell_type", "batch")
#: Starter-kit obs names -> GEO obs names (the GEO file prefixes GEX_/ADT_).
STARTER_COLUMNS = {
    "n_genes_by_counts": "GEX_n_genes_by_counts",
    "pct_counts_mt": "GEX_pct_counts_mt",
    "size_factors": "GEX_size_factors",
    "phase": "GEX_phase",
    "pseudotime_order_GEX": "GEX_pseudotime_order",
    "pseudotime_order_ADT": "ADT_pseudotime_order",
}

#: Values per block when counts are checked.
CHECK_BLOCK = 1 << 24


class DataError(ValueError):
    """Input data that cellvae cannot use; the message says what to do."""


def check_counts(x) -> None:
    """Raise :class:`DataError` unless ``x`` holds finite non-negative integers.

    Parameters
    ----------
    x
        Count matrix, dense array-like or scipy sparse (only stored values are
        checked).  An empty matrix passes.

    Raises
    ------
    DataError
        If any value is NaN or infinite, negative, or not a whole number.
    """
    vals = (x.data if sp.issparse(x) else np.asarray(x)).reshape(-1)
    for start in range(0, vals.size, CHECK_BLOCK):  # blocks: no full-size temporaries
        _check_values(vals[start:start + CHECK_BLOCK])


def _check_values(vals: np.ndarray) -> None:
    if not np.all(np.isfinite(vals)):
        raise DataError("counts contain NaN or inf; raw counts must be finite integers")
    if vals.min() < 0:
        raise DataError("counts contain negative values; raw counts must be >= 0")
    if not np.all(vals == np.round(vals)):
        raise DataError("counts are not integers; pass raw UMI counts, not normalised values")


def check_labels(obs: pd.DataFrame, key: str) -> None:
    """Raise :class:`DataError` when ``obs[key]`` is absent or has missing values (NaN or empty).

    Parameters
    ----------
    obs
        Cell metadata.
    key
        The column, e.g. the batch or the cell-type column.

    Raises
    ------
    DataError
        Naming the column and how many cells lack a value.
    """
    if key not in obs:
        raise DataError(f"obs has no column '{key}'; it has {list(obs.columns)}")
    col = obs[key]
    missing = col.isna().to_numpy() | (col.astype(str).str.strip() == "").to_numpy()
    if missing.any():
        n = int(missing.sum())
        raise DataError(f"obs['{key}'] has no value (NaN or empty) for {n:,} cell{'' if n == 1 else 's'} of "
                        f"{len(col):,}; fill them or drop those cells")


def harmonize_obs(adata: ad.AnnData) -> str:
    """Bring starter-kit obs names to the GEO schema in place; return the schema name.

    Starter-kit columns are renamed per :data:`STARTER_COLUMNS`.  If ``Site`` or
    ``DonorNumber`` is missing and every ``batch`` looks like ``s<site>d<donor>``,
    both are derived from it as categoricals (``site<N>``, ``donor<N>``).

    Parameters
    ----------
    adata
        Data whose ``obs`` is modified in place.

    Returns
    -------
    str
        ``"geo"`` (already GEO names), ``"starter"`` (renamed) or ``"unknown"``.
    """
    obs = adata.obs
    if "GEX_n_genes_by_counts" in obs:
        schema = "geo"
    elif "n_genes_by_counts" in obs or "pseudotime_order_GEX" in obs:
        schema = "starter"
        adata.obs = obs.rename(columns={k: v for k, v in STARTER_COLUMNS.items() if k in obs})
    else:
        schema = "unknown"
    obs = adata.obs
    if "batch" in obs and ("Site" not in obs or "DonorNumber" not in obs):
        parts = obs["batch"].astype(str).str.extract(r"^s(\d+)d(\d+)$")
        if parts.notna().all().all():
            obs["Site"] = pd.Categorical("site" + parts[0])
            obs["DonorNumber"] = pd.Categorical("donor" + parts[1])
    return schema


def validate(adata: ad.AnnData, *, n_top_genes: int | None = None, layer: str = "counts") -> None:
    """Check the schema cellvae relies on, raising a one-line :class:`DataError`.

    Parameters
    ----------
    adata
        Data to check; it is not modified.
    n_top_genes
        Number of highly variable genes that will be requested; ``None`` (default)
        skips the gene-count check.
    layer
        Name of the layer holding raw counts (default ``"counts"``).

    Raises
    ------
    DataError
        If ``layers[layer]`` is missing, ``obs`` lacks a column of
        :data:`REQUIRED_OBS` or one has missing values, the counts are not finite non-negative integers,
        ``n_top_genes < 1``, or there are fewer genes than ``n_top_genes``.
    """
    if layer not in adata.layers:
        raise DataError(
            f"no layers['{layer}'] with raw counts; found layers {sorted(adata.layers)}"
        )
    missing = [c for c in REQUIRED_OBS if c not in adata.obs]
    if missing:
        raise DataError(f"obs is missing required column(s) {missing}")
    for c in REQUIRED_OBS:
        check_labels(adata.obs, c)
    check_counts(adata.layers[layer])
    if n_top_genes is not None:
        if n_top_genes < 1:
            raise DataError(f"n_top_genes must be >= 1, got {n_top_genes}")
        if adata.n_vars < n_top_genes:
            raise DataError(
                f"only {adata.n_vars} genes but {n_top_genes} highly variable genes requested"
            )


