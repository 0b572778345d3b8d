"""What each family's "nats" are, and the one conversion between them that is exact.

The NB bound is a log-probability of integer counts given the library size; the two Gaussian
bounds are log-densities of continuous transforms of the counts.  The Gaussian on log data
and the Gaussian on scaled counts describe the same variable through ``z = log1p(y)``, so
the change-of-variables formula (theory chapter) puts them on one scale:
``log p_Y(y) = log p_Z(log1p y) - sum_g log1p(y_g)``.  No such formula turns a density into
a probability of integer counts, so neither Gaussian can be compared with the NB model.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ...data import get_variant

#: The unit of each family's per-cell ELBO and IWAE, as captions state it.
FAMILY_UNITS = {
    "nb/raw": "nats of counts, conditional on library size: log p(x | l)",
    "gaussian/processed": "nats of density on log1p(counts/s)",
    "gaussian/preprocessed": "nats of density on counts/s",
}


def log1p_jacobian(adata, mask: np.ndarray) -> float:
    """Mean over the masked cells of ``sum_g log1p(y_g)``, with ``y`` the counts / size factor.

    Parameters
    ----------
    adata
        Prepared data (:func:`cellvae.data.prepare`).
    mask
        Boolean mask of the cells (the test cells, for test bounds).

    Returns
    -------
    float
        Nats per cell to subtract from a log-data density to get the density on counts/s.
    """
    y = get_variant(adata[mask], "processed")  # log1p(counts / s); zeros stay zeros
    return float(y.sum(dtype=np.float64)) / int(mask.sum())


def on_scaled_counts(table: pd.DataFrame, jacobian: float) -> pd.DataFrame:
    """Both Gaussian families' test bounds on the scale of a density on counts/s.

    Parameters
    ----------
    table
        :func:`~cellvae.study.runner.tables.results_table` with the two Gaussian families.
    jacobian
        :func:`log1p_jacobian` of the test cells.

    Returns
    -------
    pandas.DataFrame
        One row per architecture: the scaled-count Gaussian's test IWAE, the log-data
        Gaussian's test IWAE as trained and converted, and the converted one minus the
        scaled-count one (positive: the log-data model is the better density on counts/s).
    """
    g = table[table["family"].isin(["gaussian/preprocessed", "gaussian/processed"])]
    wide = g.pivot_table(index="model", columns="family", values="test IWAE")
    out = pd.DataFrame({
        "on counts/s": wide["gaussian/preprocessed"],
        "on log1p, as trained": wide["gaussian/processed"],
        "on log1p, converted to counts/s": wide["gaussian/processed"] - jacobian,
    })
    out["converted minus counts/s"] = out["on log1p, converted to counts/s"] - out["on counts/s"]
    return out.reset_index()
