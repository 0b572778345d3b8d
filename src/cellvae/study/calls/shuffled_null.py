"""The real cells chapter's batch call: batch mixing against the PCA's own shuffled-label null.

With two donors and one site there are no calibrated simulations of the data's own design to
judge against; the matched null is the same embedding scored with batch labels permuted within
each cell type (:func:`~cellvae.study.scoring.nulls.shuffle_null`), which keeps the batch
composition and breaks any link to expression.  Every score is on all of the starter's cells:
its test split is too small for kBET per cell type.
"""

from __future__ import annotations

import anndata as ad
import pandas as pd

from ..scoring.embed import PCA_KEY, pca
from ..scoring.integration import BIO, MIXING, benchmark
from ..scoring.nulls import shuffle_null
from .controls import FPR, prediction_bounds


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
        One row per embedding (PCA first), all cells, the columns of
        :func:`~cellvae.study.scoring.integration.benchmark`.
    verdict : dict
        ``null_mean``, ``null_sd``, ``threshold`` and ``pca_mixing`` (floats) and
        ``pca_flagged`` (bool: PCA batch mixing below the null's lower prediction bound,
        ``threshold``).
    """
    pca(adata, n_comps=min(50, adata.n_vars - 1, adata.n_obs - 1))
    rows = {"PCA (log data)": PCA_KEY} | keys
    scores = pd.concat([benchmark(adata, {n: k}, full=False) for n, k in rows.items()])
    null = shuffle_null(adata, PCA_KEY)
    mix = float(scores.loc["PCA (log data)", MIXING])
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
    return (head + f" Conditioning the NB model on batch moves its batch mixing from {a[MIXING]:.3f} "
            f"to {b[MIXING]:.3f} and its biology conservation from {a[BIO]:.3f} to {b[BIO]:.3f}.")
