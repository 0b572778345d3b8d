"""Trajectory conservation over replicates: does an integration lose the lineages' order?

Trajectory conservation (scIB's; :func:`~cellvae.study.scoring.integration.trajectory_conservation`)
sits outside the Benchmarker's aggregates, so an integration that flattens a lineage loses
nothing in its total.  Here each integration is compared with the embedding it integrates
(Harmony with PCA, the batch-conditional NB with our plain NB), replicate by replicate on the
same cells: Harmony's seed *i* and PCA on the batch table's subsample *i*, the two NB models at
the same training seed on every test cell.  The test is a one-sided paired t-test at
:data:`~cellvae.study.calls.controls.FPR`.
"""

from __future__ import annotations

import anndata as ad
import numpy as np
import pandas as pd

from ..runner import store
from ..scoring.integration import SCORES_VERSION, TIME_KEY, trajectory_conservation
from .controls import FPR

#: Each integration and the embedding it integrates (our plain NB, ``embeddings.NB_ROW``): the pairs compared.
#: scVI is left out: no embedding here is its unintegrated form.
PAIRS = (("Harmony", "PCA"), ("our NB +batch", "our NB"))
_VERSION = 2  # 2: pairs on the same cells


def _score(emb: np.ndarray, time: np.ndarray) -> float:
    h = store.key(np.ascontiguousarray(emb, np.float32), time, "trajectory", _VERSION, SCORES_VERSION)
    return float(store.cached("metrics", h, lambda: np.array([trajectory_conservation(emb, time)]),
                              codec=store.ARRAY, valid=lambda v: v.shape == (1,))[0])


def trajectory_replicates(adata: ad.AnnData, reps: dict[str, list], *, mask: np.ndarray) -> pd.DataFrame:
    """Trajectory conservation of each pair of :data:`PAIRS`, replicate by replicate on the same cells.

    Parameters
    ----------
    adata
        The book data with each replicate's embedding and, where it has one, the pseudotime.
    reps
        :func:`~cellvae.study.calls.embeddings.batch_replicates` output.
    mask
        The cells scored (the test cells); a replicate on a subsample scores its partner there too.

    Returns
    -------
    pandas.DataFrame
        ``integration``, ``baseline``, ``replicate``, ``trajectory`` and ``baseline trajectory``;
        empty when the data has no pseudotime.
    """
    from .embeddings import subsample  # here: the import chain stays short

    cols = ["integration", "baseline", "replicate", "trajectory", "baseline trajectory"]
    if TIME_KEY not in adata.obs:
        return pd.DataFrame(columns=cols)
    time = pd.to_numeric(adata.obs[TIME_KEY], errors="coerce").to_numpy(float)
    recs = []
    for integ, base in PAIRS:
        for i, (a, b) in enumerate(zip(reps.get(integ, []), reps.get(base, []))):
            sub = a[2] if a[2] is not None else b[2]
            m = mask if sub is None else subsample(mask, sub)
            recs.append(dict(zip(cols, (integ, base, i, _score(adata.obsm[a[0]][m], time[m]),
                                        _score(adata.obsm[b[0]][m], time[m])))))
    return pd.DataFrame(recs, columns=cols)


def trajectory_calls(tr: pd.DataFrame, *, fpr: float = FPR) -> pd.DataFrame:
    """Each integration against the embedding it integrates, by a one-sided paired t-test.

    Parameters
    ----------
    tr
        :func:`trajectory_replicates` output.
    fpr
        Error rate of the test.

    Returns
    -------
    pandas.DataFrame
        One row per pair with two or more finite replicates: ``integration``, ``baseline``, the
        means and s.d.s, ``K``, ``p`` and ``call``: ``"loses order"`` when the integration is
        lower at ``fpr``, ``"no loss shown"`` otherwise, ``"not testable"`` when the paired
        differences do not vary (p undefined).
    """
    from scipy.stats import ttest_rel

    rows = []
    for (integ, base), g in tr.groupby(["integration", "baseline"], sort=False):
        g = g[np.isfinite(g["trajectory"].astype(float)) & np.isfinite(g["baseline trajectory"].astype(float))]
        if len(g) < 2:
            continue
        a, b = g["trajectory"].to_numpy(float), g["baseline trajectory"].to_numpy(float)
        p = float(ttest_rel(a, b, alternative="less").pvalue) if np.ptp(a - b) > 1e-9 else np.nan
        call = "not testable" if not np.isfinite(p) else "loses order" if p < fpr else "no loss shown"
        rows.append({"integration": integ, "baseline": base, "mean": a.mean(), "sd": a.std(ddof=1),
                     "baseline mean": b.mean(), "baseline sd": b.std(ddof=1), "K": len(g), "p": p, "call": call})
    return pd.DataFrame(rows)


def trajectory_sentence(calls: pd.DataFrame, *, fpr: float = FPR) -> str:
    """The batch page's sentence on trajectory conservation.

    Parameters
    ----------
    calls
        :func:`trajectory_calls` output.
    fpr
        Error rate of the test, for the sentence.

    Returns
    -------
    str
        Each pair's means ± s.d., p and call; where no pair could be tested, why.
    """
    if calls.empty:
        return ("Trajectory conservation is not compared over replicates here: the data records no pseudotime, "
                "or too few replicates were scored.")
    words = {"loses order": "**it loses the lineages' order**", "no loss shown": "no loss shown, inconclusive",
             "not testable": "not testable (the paired differences do not vary)"}
    parts = [f"{r['integration']} {r['mean']:.2f} ± {r['sd']:.2f} against {r['baseline']}'s {r['baseline mean']:.2f}"
             f" ± {r['baseline sd']:.2f}" + (f" (p = {r['p']:.2g})" if np.isfinite(r["p"]) else "") + ": "
             + words[r["call"]] for _, r in calls.iterrows()]
    k = int(calls["K"].min())
    lost = (calls["call"] == "loses order").any()
    tail = (" It is left out of the Benchmarker's aggregates (Table 4c), so this loss does not show in an "
            "integration's total." if lost else " It is left out of the Benchmarker's aggregates (Table 4c).")
    return (f"Trajectory conservation over {k} replicates each (mean ± s.d., test cells), each integration against "
            f"the embedding it integrates on the same cells by a one-sided paired t-test at {fpr:.0%}: "
            f"{'; '.join(parts)}.{tail}")
