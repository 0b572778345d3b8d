"""Donor apart from batch: does a donor difference survive without the genes donors differ in by biology, and at matched depth?

Where each batch is one donor, a difference between batches may be biology: sex-linked genes,
the HLA genes every donor carries its own alleles of, and haemoglobin, which dominates some
blood samples.  It may also be depth: donors sequenced to different library sizes.  The
unintegrated PCA is re-scored four ways, each against its own shuffled-label null
(:func:`~cellvae.study.scoring.nulls.shuffle_null`): on all genes; without those genes; with
every donor's counts thinned to the shallowest donor's median library size; and both.  What
remains after both is the part of the signal that neither explains.
"""

from __future__ import annotations

import re

import anndata as ad
import numpy as np
import pandas as pd
import scipy.sparse as sp

from ..scoring.embed import PCA_KEY, pca
from ..scoring.integration import MIXING, benchmark
from ..scoring.nulls import shuffle_null
from .controls import FPR, prediction_bounds

#: Genes donors differ in by biology: haemoglobins, HLA, and the X/Y genes that tell the sexes apart.
BIOLOGY_GENES = re.compile(r"^(HB[ABDEGMQZ]\d?|HLA-.+|XIST|TSIX|RPS4Y1|DDX3Y|UTY|KDM5D|EIF1AY|ZFY|USP9Y|"
                           r"NLGN4Y|TXLNGY|PRKY)$")
#: The four re-scorings, in order: (genes without biology ones, depth matched).
VARIANTS = {"all genes": (False, False), "without sex, HLA and haemoglobin genes": (True, False),
            "depth matched": (False, True), "both": (True, True)}


def biology_genes(adata: ad.AnnData) -> list[str]:
    """The genes of :data:`BIOLOGY_GENES` present in ``adata``.

    Parameters
    ----------
    adata
        Data with gene symbols as ``var_names``.

    Returns
    -------
    list of str
    """
    return [g for g in adata.var_names if BIOLOGY_GENES.match(str(g))]


def depth_matched(adata: ad.AnnData, *, seed: int = 0) -> ad.AnnData:
    """A copy whose counts are binomially thinned so every batch has the shallowest batch's median depth.

    Parameters
    ----------
    adata
        Data with ``layers['counts']`` and ``obs['batch']``.
    seed
        Seeds the thinning.

    Returns
    -------
    anndata.AnnData
        Cells of a deeper batch keep each count with probability (shallowest median) / (its median).
    """
    out = adata.copy()
    x = sp.csr_matrix(out.layers["counts"]).astype(np.int64)
    lib = np.asarray(x.sum(axis=1)).ravel()
    batch = out.obs["batch"].astype(str).to_numpy()
    med = pd.Series(lib).groupby(batch).median()
    keep = (med.min() / med).reindex(batch).to_numpy()
    rng = np.random.default_rng(seed)
    rows = np.repeat(np.arange(x.shape[0]), np.diff(x.indptr))
    x.data = rng.binomial(x.data, keep[rows])
    x.eliminate_zeros()
    out.layers["counts"] = x.astype(np.float32)
    return out


def _variant(adata: ad.AnnData, drop: bool, thin: bool, seed: int) -> ad.AnnData:
    sub = adata[:, [g not in set(biology_genes(adata)) for g in adata.var_names]].copy() if drop else adata.copy()
    sub = depth_matched(sub, seed=seed) if thin else sub
    pca(sub, n_comps=min(50, sub.n_vars - 1, sub.n_obs - 1), seed=seed)
    return sub


def donor_rescore(adata: ad.AnnData, *, seed: int = 0, fpr: float = FPR) -> pd.DataFrame:
    """The PCA's batch mixing under the four :data:`VARIANTS`, each against its own shuffled-label null.

    Parameters
    ----------
    adata
        Prepared data whose batches are donors (``layers['counts']``, ``obs['batch']``,
        ``obs['cell_type']``).
    seed
        Seeds the thinning and the PCA.
    fpr
        Error rate of each null's lower prediction bound.

    Returns
    -------
    pandas.DataFrame
        One row per variant: ``genes`` (kept), ``median depth`` (of the shallowest batch),
        ``Batch mixing``, ``threshold`` and ``detected``.
    """
    rows = {}
    for name, (drop, thin) in VARIANTS.items():
        sub = _variant(adata, drop, thin, seed)
        mix = float(benchmark(sub, {name: PCA_KEY}, full=False)[MIXING].iloc[0])
        thr = prediction_bounds(shuffle_null(sub, PCA_KEY), fpr=fpr)[0]
        lib = np.asarray(sub.layers["counts"].sum(axis=1)).ravel()
        depth = pd.Series(lib).groupby(sub.obs["batch"].astype(str).to_numpy()).median().min()
        rows[name] = {"genes": sub.n_vars, "median depth": float(depth), MIXING: mix, "threshold": thr,
                      "detected": bool(mix < thr)}
    return pd.DataFrame(rows).T


def donor_sentence(table: pd.DataFrame, removed: list[str]) -> str:
    """Which part of the donor signal survives removing biology genes and matching depth.

    Parameters
    ----------
    table
        :func:`donor_rescore` output.
    removed
        The genes removed (:func:`biology_genes`).

    Returns
    -------
    str
    """
    d = table["detected"]
    names = ", ".join(removed) if removed else "none of them is in this panel"
    m = table[MIXING]
    head = (f"Re-scored without the sex-linked, HLA and haemoglobin genes ({names}) and with every donor thinned to "
            f"the shallowest donor's median depth, the PCA's batch mixing moves from {m.iloc[0]:.3f} to "
            f"{m.iloc[-1]:.3f} (null thresholds {table['threshold'].iloc[0]:.3f} and "
            f"{table['threshold'].iloc[-1]:.3f}); removing the genes alone gives {m.iloc[1]:.3f}, matching depth "
            f"alone {m.iloc[2]:.3f}.")
    if not d.iloc[0]:
        return head + " No donor difference is detected to begin with."
    if d.iloc[-1]:
        return head + (" **The donor difference remains** after both: neither those genes nor depth explains it, "
                       "so it lies in other genes, whether a technical batch effect or other biology.")
    gone = [n for n in ("without sex, HLA and haemoglobin genes", "depth matched") if not d[n]]
    why = " or ".join(gone) if gone else "the two together"
    return head + f" **The donor difference is no longer detected** once {why}: it is explained by that part."
