"""The cells the book scores and draws: the held-out cells, at most :data:`MAX_SCORED_CELLS` of them.

Training uses every training cell at any size.  What comes after training does not need them
all: the scIB metrics, the UMAPs and the nulls' simulations grow with the cells (kBET and UMAP
faster than linearly), and at 20,000 cells a score's spread between draws is already small next
to the differences the book judges.  So on a file whose held-out cells exceed the bound, the
book scores a seeded random subsample of them, its figures show those cells, and each page that
does says so (:func:`scored_text`).  Below the bound (the default build, and the 90,260-cell
GEO file, whose 20% held out is 18,052 cells) nothing is subsampled and every UMAP shows all cells.
"""

from __future__ import annotations

import anndata as ad
import numpy as np

#: At most this many held-out cells are scored, drawn in UMAPs, and held out by a null's
#: simulation (the study's issue #29 scale plan); ~1,700 per batch of the GEO file's 12.
MAX_SCORED_CELLS = 20_000
#: Seeds the subsample, so every page scores the same cells.
SCORED_SEED = 0


def _test(adata: ad.AnnData) -> np.ndarray:
    return (adata.obs["split"] == "test").to_numpy()


def subsampled(adata: ad.AnnData) -> bool:
    """Whether the held-out cells exceed :data:`MAX_SCORED_CELLS`, so that a subsample is scored.

    Parameters
    ----------
    adata
        Prepared data with ``obs['split']``.

    Returns
    -------
    bool
    """
    return int(_test(adata).sum()) > MAX_SCORED_CELLS


def scored_cells(adata: ad.AnnData) -> np.ndarray:
    """The held-out cells every score uses: all of them, or a seeded random :data:`MAX_SCORED_CELLS`.

    Parameters
    ----------
    adata
        Prepared data with ``obs['split']``.

    Returns
    -------
    numpy.ndarray
        Boolean cell mask; the test mask itself when it holds at most :data:`MAX_SCORED_CELLS` cells.
    """
    test = _test(adata)
    if not subsampled(adata):
        return test
    keep = np.random.default_rng(SCORED_SEED).choice(np.flatnonzero(test), MAX_SCORED_CELLS, replace=False)
    out = np.zeros(adata.n_obs, bool)
    out[keep] = True
    return out


def drawn(adata: ad.AnnData) -> ad.AnnData:
    """The cells an "all cells" figure draws: ``adata`` itself, or a copy of its scored cells.

    A UMAP of every cell grows faster than linearly with the cells; above the bound the figure
    shows the scored cells instead.

    Parameters
    ----------
    adata
        Prepared data with ``obs['split']``.

    Returns
    -------
    anndata.AnnData
        ``adata`` (not a copy) when it holds at most :data:`MAX_SCORED_CELLS` cells.
    """
    return adata if adata.n_obs <= MAX_SCORED_CELLS else adata[scored_cells(adata)].copy()


def drawn_mask(adata: ad.AnnData) -> np.ndarray | None:
    """:func:`drawn`'s cells as a mask (None: every cell), for UMAPs computed ahead in a pool.

    Parameters
    ----------
    adata
        Prepared data with ``obs['split']``.

    Returns
    -------
    numpy.ndarray or None
    """
    return None if adata.n_obs <= MAX_SCORED_CELLS else scored_cells(adata)


def drawn_text(adata: ad.AnnData) -> str:
    """Which cells an "all cells" figure shows, for its caption.

    Parameters
    ----------
    adata
        Prepared data with ``obs['split']``.

    Returns
    -------
    str
        ``"all cells"``, or e.g. ``"a seeded random 20,000 of the 30,000 held-out cells (of 150,000)"``.
    """
    if adata.n_obs <= MAX_SCORED_CELLS:
        return "all cells"
    return _sample_words(adata) if subsampled(adata) else f"the {int(_test(adata).sum()):,} held-out cells"


def _sample_words(adata: ad.AnnData) -> str:
    n_test = int(_test(adata).sum())
    return f"a seeded random {MAX_SCORED_CELLS:,} of the {n_test:,} held-out cells (of {adata.n_obs:,})"


def scored_text(adata: ad.AnnData) -> str:
    """The sentence that says which cells were scored, and why a subsample when it is one.

    Parameters
    ----------
    adata
        Prepared data with ``obs['split']``.

    Returns
    -------
    str
    """
    n_test = int(_test(adata).sum())
    if not subsampled(adata):
        return f"Every score is computed on all {n_test:,} held-out test cells, which no model saw in training."
    return (f"Every score is computed on {_sample_words(adata)}, which no model saw in training: scoring, "
            f"UMAPs and the nulls stop at {MAX_SCORED_CELLS:,} cells, while training uses every training cell.")
