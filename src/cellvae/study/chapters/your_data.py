"""The "Run it on your data" page: the settings the book reads, and what this build's runs cost.

The settings come from :mod:`cellvae.data.design` (one definition each), and the costs from the
runs this build trained (each run records its wall time and epochs), so the page states what it
read and what it measured, on the machine that built it.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ...data.design import BATCH_KINDS, ENV, GUESSES
from ..runner.cache import RunResult

#: What each setting names, in the page's words.
_NAMES = {"batch": "the obs column of the batches", "cell_type": "the obs column of the cell-type labels",
          "donor": "the obs column of the donors (optional)", "site": "the obs column of the sites (optional)",
          "batch_is": "what a batch is (below)"}


def settings_table() -> pd.DataFrame:
    """The environment variables the book reads beside ``CELLVAE_DATA``, with the names guessed when unset.

    Returns
    -------
    pandas.DataFrame
        ``variable``, ``names`` and ``guessed from`` (tried in order).
    """
    rows = {ENV[k]: {"names": _NAMES[k], "guessed from": ", ".join(GUESSES.get(k, ())) or
                     "the donor and site columns' match with the batches"} for k in ENV}
    return pd.DataFrame(rows).T.rename_axis("variable").reset_index()


def kinds_table() -> pd.DataFrame:
    """What ``CELLVAE_BATCH_IS`` can say, and what a difference between batches then means.

    Returns
    -------
    pandas.DataFrame
        The value and its reading.
    """
    return pd.DataFrame({"a batch is": BATCH_KINDS}).rename_axis(ENV["batch_is"]).reset_index()


def cost_table(results: list[RunResult], n_cells: int) -> pd.DataFrame:
    """What the runs of one grid cost on the machine that trained them, by family.

    Parameters
    ----------
    results
        Completed runs (each records ``seconds`` and ``epochs``).
    n_cells
        Cells each run trains on (the fitted cells of the training split).

    Returns
    -------
    pandas.DataFrame
        One row per ``family``: ``runs``, ``median s`` (wall time per run), ``median epochs`` and
        ``cells/s`` (cells x epochs / seconds, median over runs, on the device each trained on).
    """
    rows = []
    for r in results:
        s, e = r.metrics.get("seconds", np.nan), r.metrics.get("epochs", np.nan)
        if r.metrics.get("status") == "ok" and s > 0:
            rows.append({"family": r.spec.family, "seconds": s, "epochs": e, "rate": n_cells * e / s})
    t = pd.DataFrame(rows, columns=["family", "seconds", "epochs", "rate"])
    return t.groupby("family").agg(**{"runs": ("seconds", "size"), "median s": ("seconds", "median"),
                                      "median epochs": ("epochs", "median"),
                                      "cells/s": ("rate", "median")}).reset_index()


def cost_sentence(results: list[RunResult]) -> str:
    """The grid's total training time on this machine, in words.

    Parameters
    ----------
    results
        As for :func:`cost_table`.

    Returns
    -------
    str
    """
    secs = [r.metrics["seconds"] for r in results if r.metrics.get("status") == "ok" and "seconds" in r.metrics]
    if not secs:
        return "No run of this build recorded its training time."
    runs = "run" if len(secs) == 1 else "runs"
    mins = sum(secs) / 60
    total = f"{mins:.0f} minutes" if mins >= 1 else f"{sum(secs):.0f} seconds"
    return (f"The main grid's {len(secs)} {runs} took {total} of training in all (median {np.median(secs):.0f} s "
            "per run), as each run recorded when it trained: on the machine that built this page, unless the run "
            "cache came from another one. `cellvae-grid` spreads the runs over every core.")


def fitted_cells(adata) -> int:
    """Cells a run's gradient steps see each epoch: the fitted cells less the early-stopping share.

    Parameters
    ----------
    adata
        The book data with ``obs['split']``.

    Returns
    -------
    int
    """
    from ..runner.grid import BOOK_TRAIN
    from ..runner.runs import fit_and_select

    return int(round(fit_and_select(adata)[0].sum() * (1 - BOOK_TRAIN.validation_fraction)))
