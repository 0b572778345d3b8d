"""The posterior predictive check's figure: each model's error per statistic."""

from __future__ import annotations

import matplotlib.pyplot as plt
import pandas as pd

from ..runner.ppc import ERRORS
from .plots import WIDTH, _styled


@_styled
def ppc_bars(table: pd.DataFrame):
    """One panel per :data:`ERRORS` column: each model's error as a bar (0 is a perfect match).

    Parameters
    ----------
    table
        :func:`ppc_table`-shaped errors, indexed by model.
    """
    fig, axes = plt.subplots(1, len(ERRORS), figsize=(WIDTH, 3.4), sharey=True)
    names = list(table.index)
    for ax, col in zip(axes, ERRORS):
        ax.barh(names, table[col].to_numpy(), color="C0")
        ax.set_title(col.replace(" ", "\n", 1))
        ax.set_xlabel("error (0 best)")
    axes[0].set_ylabel("model")
    axes[0].invert_yaxis()
    return fig
