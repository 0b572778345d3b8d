"""The real cells chapter's batch call: scIB scores against a null of batch labels shuffled within cell type.

With two donors and one site there are no calibrated simulations of the data's own design to
judge against; the matched null is the same embedding scored with batch labels permuted within
each cell type, which keeps the batch composition and breaks any link to expression.
"""

from __future__ import annotations

import anndata as ad
import numpy as np
import pandas as pd

from ..scoring.metrics import PCA_KEY, cached_scib_scores, pca
from .controls import FPR, prediction_bounds

#: Batch-label shuffles (within cell type) that make the matched null.
N_SHUFFLES = 5


def shuffled_null(adata: ad.AnnData, key: str, *, n_shuffles: int = N_SHUFFLES, seed: int = 0) -> np.ndarray:
    """Batch-mixing scores of ``obsm[key]`` with batch labels shuffled within each cell type.

    Shuffling keeps each type's batch composition but breaks any link between batch and
    expression: it is what "no batch effect" scores on this embedding, these cells and
    these batch sizes.

    Parameters
    ----------
    adata
        Data with ``obsm[key]``, ``obs['batch']`` and ``obs['cell_type']``; shuffled label
        columns ``batch_shuffled<i>`` are added to ``obs``.
    key
        obsm key of the embedding.
    n_shuffles
        Independent shuffles.
    seed
        Seeds the shuffles.

    Returns
    -------
    numpy.ndarray
        One batch-mixing score (mean of iLISI and kBET) per shuffle.
    """
    rng = np.random.default_rng(seed)
    batch = adata.obs["batch"].astype(str).to_numpy()
    groups = adata.obs.groupby("cell_type", observed=True).indices.values()
    out = []
    for i in range(n_shuffles):
        shuf = batch.copy()
        for idx in groups:
            shuf[idx] = rng.permutation(batch[idx])
        adata.obs[f"batch_shuffled{i}"] = pd.Categorical(shuf)
        out.append(cached_scib_scores(adata, key, batch_key=f"batch_shuffled{i}")["batch mixing"])
    return np.asarray(out)


def batch_check(adata: ad.AnnData, keys: dict[str, str], *, fpr: float = FPR) -> tuple[pd.DataFrame, dict]:
    """scIB scores of each embedding and the shuffled-label null of the PCA.

    Parameters
    ----------
    adata
        Prepared starter data with the embeddings in ``obsm``; the PCA is computed here.
    keys
        Row name -> obsm key of the VAE latents.
    fpr
        False-positive rate of the null's lower prediction bound
        (:func:`~cellvae.study.calls.controls.prediction_bounds`).

    Returns
    -------
    scores : pandas.DataFrame
        One row per embedding (PCA first).
    verdict : dict
        ``null_mean``, ``null_sd``, ``threshold`` and ``pca_mixing`` (floats) and
        ``pca_flagged`` (bool: PCA batch mixing below the null's lower prediction bound,
        ``threshold``).
    """
    pca(adata, n_comps=min(50, adata.n_vars - 1, adata.n_obs - 1))
    rows = {"PCA (log data)": PCA_KEY} | keys
    scores = pd.DataFrame({n: cached_scib_scores(adata, k) for n, k in rows.items()}).T
    null = shuffled_null(adata, PCA_KEY)
    mix = float(scores.loc["PCA (log data)", "batch mixing"])
    thr = prediction_bounds(null, fpr=fpr)[0]
    return scores, {"null_mean": float(null.mean()), "null_sd": float(null.std(ddof=1)), "threshold": thr,
                    "pca_mixing": mix, "pca_flagged": bool(mix < thr)}


def batch_sentence(scores: pd.DataFrame, verdict: dict, *, nb: str, cond: str) -> str:
    """The batch verdict on real cells against the shuffled-label null, as Markdown.

    Parameters
    ----------
    scores, verdict
        :func:`batch_check` output.
    nb, cond
        Row names of the plain and the batch-conditional NB latent.

    Returns
    -------
    str
        Whether the PCA's batch mixing falls below the null's lower prediction bound, and how
        conditioning moves the NB latent's batch mixing and biology conservation.
    """
    v = verdict
    if v["pca_flagged"]:
        head = (f"The unintegrated PCA scores {v['pca_mixing']:.3f} on batch mixing, below {v['threshold']:.3f}, "
                f"the lower {1 - FPR:.0%} prediction bound of the shuffled-label null (mean {v['null_mean']:.3f}, "
                f"s.d. {v['null_sd']:.3f}): **a batch effect is detected** between the two donors.")
    else:
        head = (f"The unintegrated PCA scores {v['pca_mixing']:.3f} on batch mixing, at or above {v['threshold']:.3f}, "
                f"the lower {1 - FPR:.0%} prediction bound of the shuffled-label null (mean {v['null_mean']:.3f}, "
                f"s.d. {v['null_sd']:.3f}): no batch effect is detected between the two donors at this size.")
    a, b = scores.loc[nb], scores.loc[cond]
    return (head + f" Conditioning the NB model on batch moves its batch mixing from {a['batch mixing']:.3f} "
            f"to {b['batch mixing']:.3f} and its biology conservation from {a['bio conservation']:.3f} to "
            f"{b['bio conservation']:.3f}.")
