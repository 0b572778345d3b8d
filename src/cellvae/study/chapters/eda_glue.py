"""The exploration chapter's numbers, computed from :mod:`~cellvae.study.chapters.eda`'s summaries.

``book/eda.md`` glues what these functions return and plots what :class:`CountValues` holds; it
does no arithmetic of its own.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import anndata as ad
import numpy as np
import pandas as pd

from ...data import size_factors
from ..runner.bookdata import recorded
from . import eda

#: A cell type rarer than this share of cells (averaged over donors) counts as rare in the text.
RARE_SHARE = 0.005
#: The quantile of non-zero values kept in the filtered histograms (Fig 4).
Q_KEEP = 0.999
#: "Overdispersed": a gene whose variance is above this multiple of its mean.
OD_FACTOR = 2


def design_glue(adata: ad.AnnData) -> dict:
    """Cells, genes, the split, and the numbers of donors, sites, batches and cell types.

    Parameters
    ----------
    adata
        The book's data.

    Returns
    -------
    dict
        Glue key -> value.
    """
    obs = adata.obs
    n_train = int((obs["split"] == "train").sum())
    return {"n_cells": f"{adata.n_obs:,}", "n_genes": f"{adata.n_vars:,}", "n_train": f"{n_train:,}",
            "n_test": f"{adata.n_obs - n_train:,}", "test_share": f"{1 - n_train / adata.n_obs:.0%}",
            "n_donors": obs["DonorNumber"].nunique(), "n_sites": obs["Site"].nunique(),
            "n_batches": obs["batch"].nunique(), "n_types": obs["cell_type"].nunique()}


def composition_glue(comp: pd.DataFrame, *, rare_share: float = RARE_SHARE) -> dict:
    """The most common cell type, its share, and how many types are rare.

    Parameters
    ----------
    comp
        :func:`~cellvae.study.chapters.eda.composition` output (types x donors, shares).
    rare_share
        Below this mean share a type is rare.

    Returns
    -------
    dict
        Glue key -> value.
    """
    most = comp.mean(1)
    return {"most_common_type": most.index[0], "most_common_share": f"{most.iloc[0]:.0%}",
            "rare_types": _types(int((most < rare_share).sum())), "rare_share": f"{rare_share:.1%}"}


def _types(n: int) -> str:
    return f"{n} type makes" if n == 1 else f"{n} types make"


@dataclass
class CountValues:
    """The count distributions of Figs 3-4 and Table 1, raw and preprocessed.

    Parameters
    ----------
    adata
        The book's data.
    q_keep
        Quantile of the non-zero values kept in the filtered histograms.
    """

    adata: ad.AnnData
    q_keep: float = Q_KEEP
    nonzero: dict = field(init=False)    # variant -> its non-zero values
    filtered: dict = field(init=False)   # variant -> those below its q_keep quantile
    cuts: dict = field(init=False)       # variant -> that quantile
    summary: pd.DataFrame = field(init=False)

    def __post_init__(self):
        self.nonzero = {v: eda.nonzero_values(self.adata, v) for v in ("raw", "preprocessed")}
        kept = {v: eda.quantile_filter(x, q=self.q_keep) for v, x in self.nonzero.items()}
        self.filtered = {v: k[0] for v, k in kept.items()}
        self.cuts = {v: k[1] for v, k in kept.items()}
        self.summary = eda.value_summary(self.adata)

    def glue(self) -> dict:
        """The numbers the chapter's text cites about the counts.

        Returns
        -------
        dict
            Glue key -> value.
        """
        s, sf = self.summary, size_factors(self.adata)
        return {"zero_frac": f"{s.loc['raw', 'zero fraction']:.1%}", "raw_mean": f"{s.loc['raw', 'mean']:.3f}",
                "raw_max": f"{s.loc['raw', 'max']:,.0f}", "pre_max": f"{s.loc['preprocessed', 'max']:,.0f}",
                "raw_cut": f"{self.cuts['raw']:,.0f}", "pre_cut": f"{self.cuts['preprocessed']:,.1f}",
                "sf_range": f"{sf.min():.2f} to {sf.max():.2f}",
                "raw_nz_median": f"{np.median(self.nonzero['raw']):.0f}", "top_removed": f"{1 - self.q_keep:.1%}"}


def overdispersion(adata: ad.AnnData, *, od_factor: float = OD_FACTOR) -> tuple[pd.DataFrame, float, dict]:
    """Per-gene mean and variance, the fitted NB overdispersion and what the text says of them.

    Parameters
    ----------
    adata
        The book's data.
    od_factor
        A gene is overdispersed when its raw variance is above this multiple of its mean.

    Returns
    -------
    mv : pandas.DataFrame
        :func:`~cellvae.study.chapters.eda.mean_variance` output.
    phi : float
        The NB overdispersion fitted to the raw genes.
    glue : dict
        Glue key -> value.
    """
    mv = eda.mean_variance(adata)
    raw = mv[mv["variant"] == "raw"]
    phi = eda.fit_nb_overdispersion(raw["mean"].to_numpy(), raw["variance"].to_numpy())
    pr = mv[mv["variant"] == "pearson"]
    return mv, phi, {"phi": f"{phi:.2f}", "overdispersed": f"{float((raw['variance'] > od_factor * raw['mean']).mean()):.0%}",
                     "od_reading": eda.overdispersion_reading(phi), "pr_var_median": f"{pr['variance'].median():.2f}",
                     "od_factor": od_factor}


def matched_batches(sim: ad.AnnData, real: ad.AnnData) -> ad.AnnData:
    """The simulated cells of the batches that the real file also has: the fidelity check's cells.

    Parameters
    ----------
    sim
        The raw simulation.
    real
        A real file with ``obs['batch']``.

    Returns
    -------
    anndata.AnnData
        A view of ``sim``.
    """
    return sim[sim.obs["batch"].isin(real.obs["batch"].unique()).to_numpy()]


def recorded_only(design: pd.DataFrame, batches: pd.DataFrame, obs: pd.DataFrame):
    """The design and batch tables without what the data does not record.

    Parameters
    ----------
    design, batches
        :func:`~cellvae.study.chapters.eda.design_table` and
        :func:`~cellvae.study.chapters.eda.batch_table` output.
    obs
        The data's cell metadata.

    Returns
    -------
    design : pandas.DataFrame or None
        None unless both site and donor are recorded (the table crosses them).
    batches : pandas.DataFrame
        Without the ``site`` or ``donor`` column the data does not record.
    """
    rec = {w: recorded(obs, c) for w, c in (("site", "Site"), ("donor", "DonorNumber"))}
    return (design if all(rec.values()) else None), batches[[c for c in batches if rec.get(c, True)]]


def fidelity_role(adata: ad.AnnData) -> str:
    """What the simulator feeds on this data, and so what its fidelity check covers.

    Parameters
    ----------
    adata
        The book data: simulated, a BMMC file, or a file of another tissue.

    Returns
    -------
    str
        A sentence for the EDA's fidelity section.
    """
    from ..runner.bookdata import is_bmmc  # here: the import chain stays short

    if "simulation" in adata.uns:
        return ("This page ran on the simulator, so every chapter's numbers but the real cells chapter's rest on "
                "it, and its fidelity to real BMMC cells bears on each of them.")
    where = ("BMMC cells like this file's" if is_bmmc(adata) else
             "BMMC cells, not this file's tissue: its power curves are statements about BMMC-like cells at this "
             "file's size, and nothing here checks the simulator against this file")
    return ("On this real file the simulator feeds no verdict: the batch verdicts read the file's own label "
            "permutations. It feeds only the detection-limits page's power curves, simulated at this "
            f"file's size. The comparison below checks it against {where}.")
