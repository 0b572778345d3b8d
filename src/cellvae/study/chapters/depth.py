"""Sequencing depth on a like-for-like panel: each side's median library size and zero fraction over its N most expressed genes.

Depth compared over different gene panels misleads: the EDA's 1,000 HVGs and the starter's
1,000-gene panel hold very different shares of the counts.  Here both sides are summed over the
same number of their own most expressed genes, so the two numbers compare; unlike the other
fidelity rows they are not conditioned on gene mean, and so they see depth.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

#: Genes each side is summed over: its own most expressed, as many as the starter's panel holds.
N_TOP = 1000
#: Bound on |log ratio| of the two median library sizes (a quarter either way is about 0.25).
DEPTH_BOUND = 0.25
#: Bound on the absolute difference of the two zero fractions.
ZEROS_BOUND = 0.05


def top_panel(x: sp.csr_matrix, n_top: int = N_TOP) -> sp.csr_matrix:
    """The columns of the ``n_top`` genes with the most counts.

    Parameters
    ----------
    x
        Cells x genes counts.
    n_top
        Genes kept (all of them if fewer).

    Returns
    -------
    scipy.sparse.csr_matrix
    """
    total = np.asarray(x.sum(axis=0)).ravel()
    return sp.csr_matrix(x[:, np.sort(np.argsort(-total, kind="stable")[:n_top])])


def depth_summary(x: sp.csr_matrix, n_top: int = N_TOP) -> tuple[float, float]:
    """Median library size and zero fraction over the ``n_top`` most expressed genes.

    Parameters
    ----------
    x
        Cells x genes counts.
    n_top
        Genes summed over.

    Returns
    -------
    tuple of float
        ``(median library size, zero fraction)``.
    """
    p = top_panel(x, n_top)
    return float(np.median(np.asarray(p.sum(axis=1)).ravel())), float(1 - p.nnz / (p.shape[0] * p.shape[1]))


def depth_rows(sim: sp.csr_matrix, real: sp.csr_matrix, n_top: int = N_TOP) -> list[tuple]:
    """Two fidelity rows: median library size and zero fraction, each side over its ``n_top`` top genes.

    Parameters
    ----------
    sim, real
        Cells x genes counts.
    n_top
        Genes summed over on each side.

    Returns
    -------
    list of tuple
        ``(property, simulator, real, distance, distance is, bound)`` rows.
    """
    (ls, zs), (lr, zr) = depth_summary(sim, n_top), depth_summary(real, n_top)
    return [(f"median library size over the {n_top:,} most expressed genes", ls, lr, float(abs(np.log(ls / lr))),
             "|log ratio| of the median library sizes", DEPTH_BOUND),
            (f"zero fraction over the {n_top:,} most expressed genes", zs, zr, abs(zs - zr),
             "|difference| of the zero fractions", ZEROS_BOUND)]
