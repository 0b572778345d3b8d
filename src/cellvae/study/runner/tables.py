"""The runs as a table: one row per run, with its metrics in nats per cell.

Kept apart from the runner, so that renaming a column keeps every cached run.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .cache import RunResult


def results_table(results: list[RunResult]) -> pd.DataFrame:
    """One row per run: per-cell ELBO / recon / KL on train and test (nats), IWAE, activity, time.

    Parameters
    ----------
    results
        Results from :func:`run_all`.

    Returns
    -------
    pandas.DataFrame
        Columns ``model``, ``family`` (``+batch`` for conditional runs), ``beta``, ``latent``,
        ``hidden``, the metrics (``select IWAE`` is the selection criterion), ``seed``,
        ``epochs``, ``stopped`` (``early_stopping``, ``max_epochs`` or ``diverged``), ``seconds``
        and ``status``; metrics a diverged run lacks are NaN.
    """
    rows = []
    for r in results:
        s, m = r.spec, r.metrics
        rows.append({
            "model": s.arch, "family": s.family + (" +batch" if s.conditional else ""),
            "beta": s.model.beta, "latent": s.model.n_latent, "hidden": s.model.n_hidden,
            "train ELBO": m.get("train_elbo", np.nan), "test ELBO": m.get("test_elbo", np.nan),
            "test recon": m.get("test_recon", np.nan), "test KL": m.get("test_kl", np.nan),
            "train recon": m.get("train_recon", np.nan), "train KL": m.get("train_kl", np.nan),
            "test IWAE": m.get("test_iwae", np.nan), "IWAE s.e.": m.get("test_iwae_se", np.nan),
            "select IWAE": m.get("select_iwae", np.nan), "seed": s.train.seed,
            "active units": m.get("active_units", np.nan), "epochs": m.get("epochs", np.nan),
            "stopped": m.get("stopped", "diverged"),
            "seconds": m.get("seconds", np.nan), "status": m.get("status", "ok"),
        })
    return pd.DataFrame(rows)
