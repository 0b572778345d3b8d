"""Trajectory conservation over replicates: does an integration lose the lineages' order?

Trajectory conservation (scIB's; :func:`~cellvae.study.scoring.integration.trajectory_conservation`)
sits outside the Benchmarker's aggregates, so an integration that flattens a lineage loses
nothing in its total.  Here it is scored on every replicate of the batch table (the same
seeds, draws and subsamples as the verdicts) and each integration is compared with the
embedding it integrates (Harmony with PCA, the batch-conditional and scVI latents with our
plain NB) by a one-sided Welch t-test at :data:`~cellvae.study.calls.controls.FPR`.
"""

from __future__ import annotations

import anndata as ad
import numpy as np
import pandas as pd

from ..runner import store
from ..scoring.integration import TIME_KEY, trajectory_conservation
from .controls import FPR

#: Each integration and the embedding it integrates (our plain NB, ``embeddings.NB_ROW``): the pairs compared.
PAIRS = (("Harmony", "PCA"), ("our NB +batch", "our NB"), ("scVI (scvi-tools)", "our NB"))
_VERSION = 1


def _score(emb: np.ndarray, time: np.ndarray) -> float:
    h = store.key(np.ascontiguousarray(emb, np.float32), time, "trajectory", _VERSION)
    return float(store.cached("metrics", h, lambda: np.array([trajectory_conservation(emb, time)]),
                              codec=store.ARRAY, valid=lambda v: v.shape == (1,))[0])


def trajectory_replicates(adata: ad.AnnData, reps: dict[str, list], *, mask: np.ndarray) -> pd.DataFrame:
    """Trajectory conservation of every replicate of the rows :data:`PAIRS` names.

    Parameters
    ----------
    adata
        The book data with each replicate's embedding and, where it has one, the pseudotime.
    reps
        :func:`~cellvae.study.calls.embeddings.batch_replicates` output.
    mask
        The cells scored (the test cells).

    Returns
    -------
    pandas.DataFrame
        ``embedding``, ``replicate``, ``trajectory``; empty when the data has no pseudotime.
    """
    from .embeddings import subsample  # here: the import chain stays short

    names = {n for pair in PAIRS for n in pair}
    recs = []
    if TIME_KEY in adata.obs:
        time = pd.to_numeric(adata.obs[TIME_KEY], errors="coerce").to_numpy(float)
        for name, rs in reps.items():
            for i, (key, _, sub) in enumerate(rs if name in names else []):
                m = mask if sub is None else subsample(mask, sub)
                recs.append({"embedding": name, "replicate": i, "trajectory": _score(adata.obsm[key][m], time[m])})
    return pd.DataFrame(recs, columns=["embedding", "replicate", "trajectory"])


def trajectory_calls(tr: pd.DataFrame, *, fpr: float = FPR) -> pd.DataFrame:
    """Each integration against the embedding it integrates, by a one-sided Welch t-test.

    Parameters
    ----------
    tr
        :func:`trajectory_replicates` output.
    fpr
        Error rate of the test.

    Returns
    -------
    pandas.DataFrame
        One row per pair present: ``integration``, ``baseline``, their means and s.d.s, ``K``
        (replicates each), ``p`` and ``call``: ``"loses order"`` when the integration is
        lower at ``fpr``, else ``"no loss shown"``.
    """
    from scipy.stats import ttest_ind

    rows = []
    for integ, base in PAIRS:
        a, b = (tr.loc[tr["embedding"] == n, "trajectory"].dropna().to_numpy(float) for n in (integ, base))
        if len(a) < 2 or len(b) < 2:
            continue
        p = float(ttest_ind(a, b, equal_var=False, alternative="less").pvalue)
        rows.append({"integration": integ, "baseline": base, "mean": a.mean(), "sd": a.std(ddof=1),
                     "baseline mean": b.mean(), "baseline sd": b.std(ddof=1), "K": min(len(a), len(b)), "p": p,
                     "call": "loses order" if p < fpr else "no loss shown"})
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
    parts = [f"{r['integration']} {r['mean']:.2f} ± {r['sd']:.2f} against {r['baseline']}'s {r['baseline mean']:.2f}"
             f" ± {r['baseline sd']:.2f} (p = {r['p']:.2g}): "
             + ("**it loses the lineages' order**" if r["call"] == "loses order" else "no loss shown, inconclusive")
             for _, r in calls.iterrows()]
    k = int(calls["K"].min())
    return (f"Trajectory conservation over {k} replicates each (mean ± s.d., test cells), each integration against "
            f"the embedding it integrates by a one-sided Welch t-test at {fpr:.0%}: {'; '.join(parts)}. It is left "
            "out of the Benchmarker's aggregates (Table 4c), so an integration's total does not show this loss.")
