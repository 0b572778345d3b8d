"""The KL per latent dimension: collapse as a profile of numbers, not a threshold's yes or no.

A run's KL (nats per cell) is a sum over latent dimensions of KL(q(z_j|x) || N(0, 1))
(theory chapter, Eq. T4).  A collapsed posterior puts almost nothing in every dimension; a
partly collapsed one puts its KL in a few.  :func:`kl_per_dimension` recomputes each
dimension's share on the held-out test cells from the run's saved weights, so no run is
retrained, and :func:`kl_profile` lines the dimensions up, largest first, for the runs of one
family: the numbers behind the active units and a run's total KL.
"""

from __future__ import annotations

import anndata as ad
import numpy as np
import pandas as pd

from ..runner import store
from ..runner.cache import RunCache, RunResult, data_key

_VERSION = 1
#: Test cells encoded at a time.
_CHUNK = 2048
#: Share of a run's KL that :func:`kl_summary` counts the dimensions of.
KL_SHARE = 0.9
#: Its column.
DIMS_COL = f"dims for {KL_SHARE:.0%} of KL"


def kl_per_dimension(adata: ad.AnnData, run: RunResult) -> np.ndarray:
    """Mean KL of each latent dimension over the test cells, from the run's saved weights.

    Parameters
    ----------
    adata
        The prepared data the run was trained on.
    run
        A completed run whose weights are in the run cache.

    Returns
    -------
    numpy.ndarray
        ``(n_latent,)`` nats per cell; all NaN when the weights are not cached (a diverged run).
    """
    key = run.spec.key(data_key(adata))
    path = RunCache().root / f"{key}.pt"
    if not path.exists():  # not cached: weights that appear later are read then
        return np.full(run.spec.model.n_latent, np.nan)

    def compute() -> np.ndarray:
        import torch

        from ...data.preprocess import get_variant
        from ...model.checkpoint import load_checkpoint
        from ...model.distributions import kl_normal_std

        module, _ = load_checkpoint(path)
        test = (adata.obs["split"] == "test").to_numpy()
        x = get_variant(adata, run.spec.variant)[test]
        codes = pd.Categorical(adata.obs["batch"].astype(str)).codes.astype(np.int64)[test]
        total = np.zeros(run.spec.model.n_latent)
        with torch.no_grad():
            for i in range(0, x.shape[0], _CHUNK):
                xb = torch.as_tensor(x[i:i + _CHUNK].toarray(), dtype=torch.float32)
                bb = torch.as_tensor(codes[i:i + _CHUNK]) if run.spec.conditional else None
                inf = module.inference(xb, bb)
                total += kl_normal_std(inf["qz_m"], inf["qz_v"]).sum(0).double().numpy()
        return total / x.shape[0]

    return store.cached("metrics", store.key(key, "kl per dimension", _VERSION), compute, codec=store.ARRAY,
                        valid=lambda v: v.shape == (run.spec.model.n_latent,))


def kl_profile(adata: ad.AnnData, results: list[RunResult], *, family: str = "original") -> pd.DataFrame:
    """Each architecture's per-dimension KL, largest first, for the first-seed runs of one family.

    Parameters
    ----------
    adata
        The prepared data the runs were trained on.
    results
        Runs, those of ``family`` among them.
    family
        The family whose runs are profiled (``"original"``: the original study's objective).

    Returns
    -------
    pandas.DataFrame
        ``model``, ``rank`` (1 = the dimension with the most KL), ``KL`` (nats per cell).
    """
    rows = []
    for r in results:
        if r.spec.family != family or r.spec.conditional or r.spec.train.seed != 0 or r.metrics.get("status") != "ok":
            continue
        kl = np.sort(kl_per_dimension(adata, r))[::-1]
        rows += [{"model": r.spec.arch, "rank": i + 1, "KL": float(v)} for i, v in enumerate(kl)]
    return pd.DataFrame(rows, columns=["model", "rank", "KL"])


def kl_summary(profile: pd.DataFrame) -> pd.DataFrame:
    """Per architecture: the total KL, its largest dimension's, and how many dimensions hold :data:`KL_SHARE` of it.

    Parameters
    ----------
    profile
        :func:`kl_profile` output.

    Returns
    -------
    pandas.DataFrame
        Indexed by model: ``total KL`` and ``top dimension`` (nats per cell) and :data:`DIMS_COL`;
        NaN for a run whose weights are missing.
    """
    out = {}
    for model, p in profile.groupby("model", sort=False):
        kl = p.sort_values("rank")["KL"].to_numpy(float)
        if not np.isfinite(kl).any():
            out[model] = {"total KL": np.nan, "top dimension": np.nan, DIMS_COL: np.nan}
            continue
        total = float(np.nansum(kl))
        need = int(np.searchsorted(np.cumsum(kl), KL_SHARE * total) + 1) if total > 0 else 0
        out[model] = {"total KL": total, "top dimension": float(kl[0]), DIMS_COL: need}
    return pd.DataFrame(out, index=["total KL", "top dimension", DIMS_COL]).T


def kl_table(profiles: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """:func:`kl_summary` of several datasets' profiles, one block of rows each.

    Parameters
    ----------
    profiles
        Dataset name -> :func:`kl_profile` output.

    Returns
    -------
    pandas.DataFrame
        ``data``, ``model`` and the summary's columns.
    """
    return pd.concat({k: kl_summary(p) for k, p in profiles.items()}, names=["data", "model"]).reset_index()
