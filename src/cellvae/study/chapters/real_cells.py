"""The real-cells chapter: the study's pipeline on the shipped 600-cell BMMC starter.

The main chapters run on whatever :func:`~cellvae.study.runner.bookdata.book_data` gives (by
default the simulator).  This module runs the same pipeline on real counts, always: NB
models of the five architectures, the original study's objective (the collapse
reproduction), a batch-conditional NB and the ZINB posterior predictive check, each on the
starter's own train/test split.  The architecture of the batch and zero-inflation checks is
fixed in advance (:data:`REAL_ARCH`), so nothing is chosen on test cells.  A batch effect
is judged against a null matched to these very cells: the same embedding scored with the
batch labels shuffled within each cell type.  :func:`compare_findings` then sets each
finding on real cells beside the same finding on the main chapters' data.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import anndata as ad
import numpy as np
import pandas as pd

from ..calls.donors import biology_genes, donor_rescore, donor_sentence
from ..calls.embeddings import seed_mixing
from ..calls.selection import converged_sentence
from ..calls.shuffled_null import batch_check
from ..runner.bookdata import is_bmmc, starter_data
from ..runner.cache import RunResult, paired_difference
from ..runner.runs import fit_and_select, run_all
from ..runner.starter_grid import REAL_ARCH, STARTER_TRAIN, real_specs, seed_specs
from ..runner.tables import results_table
from ..scoring.integration import MIXING

#: Types with fewer cells than this are too rare for a per-type statement.
RARE = 10


def starter_seed_mixing(adata: ad.AnnData, nb: RunResult) -> np.ndarray:
    """Batch mixing of the plain NB latent at every training seed, on all cells (:func:`seed_specs` run or loaded).

    Parameters
    ----------
    adata
        The prepared starter; the latents are added to ``obsm``.
    nb
        The plain :data:`REAL_ARCH` NB run at the first seed.

    Returns
    -------
    numpy.ndarray
        :func:`~cellvae.study.calls.embeddings.seed_mixing` of ``nb`` and the other seeds' runs.
    """
    return seed_mixing(adata, [nb, *run_all(adata, seed_specs(), progress=False, jobs=1)], mask=None)


def starter_facts(adata: ad.AnnData) -> dict:
    """The exploration numbers of the real cells, for glue.

    Parameters
    ----------
    adata
        Prepared data with raw counts in ``layers['counts']``.

    Returns
    -------
    dict
        Cells, genes, cell types (and how many have fewer than :data:`RARE` cells), cells
        per batch, median library size, zero fraction, the top gene and its share of all
        counts, the test cells, and the donors and sites in words (``donors``, ``sites``)
        with what a batch effect is among them (``batch_is``).
    """
    x = adata.layers["counts"]
    lib = np.asarray(x.sum(1)).ravel()
    gene_tot = np.asarray(x.sum(0)).ravel()
    top = int(np.argmax(gene_tot))
    types = adata.obs["cell_type"].value_counts()
    per_batch = adata.obs["batch"].astype(str).value_counts().sort_index()
    n_donors, n_sites = adata.obs["DonorNumber"].nunique(), adata.obs["Site"].nunique()
    words = dict(enumerate(("no", "one", "two", "three", "four")))
    return {"donors": f"{words.get(n_donors, n_donors)} donor{'s' * (n_donors != 1)}",
            "sites": f"{words.get(n_sites, n_sites)} site{'s' * (n_sites != 1)}",
            "batch_is": "so here a batch effect is a donor effect" if n_sites == 1 else
                        "so a batch effect mixes site and donor",
            "n_cells": f"{adata.n_obs:,}", "n_genes": f"{adata.n_vars:,}", "n_types": int(len(types)),
            "n_rare": int((types < RARE).sum()), "rare": RARE,
            "batches": ", ".join(f"{b} ({n})" for b, n in per_batch.items()), "n_batches": int(len(per_batch)),
            "median_lib": f"{np.median(lib):,.0f}", "zero_frac": f"{1 - x.nnz / np.prod(x.shape):.1%}",
            "top_gene": str(adata.var_names[top]), "top_share": f"{gene_tot[top] / gene_tot.sum():.0%}",
            "n_test": int((adata.obs["split"] == "test").sum())}


def starter_batch(adata: ad.AnnData, nb: RunResult, cond: RunResult) -> tuple:
    """The chapter's batch check: both latents into ``obsm``, :func:`batch_check`, and UMAPs.

    Parameters
    ----------
    adata
        The prepared starter.
    nb, cond
        The plain and the batch-conditional NB runs on it.

    Returns
    -------
    tuple
        ``scores`` and ``verdict`` of :func:`batch_check`, row name -> UMAP coordinates, and
        the held-out IWAE gain of ``cond`` over ``nb`` (log p(x|s) against log p(x)): mean
        and bootstrap s.e., nats per cell.
    """
    from ..scoring.embed import umap

    adata.obsm["X_nb"], adata.obsm["X_nb_batch"] = nb.latent, cond.latent
    rows = {f"{REAL_ARCH} NB": "X_nb", f"{REAL_ARCH} NB +batch": "X_nb_batch"}
    scores, verdict = batch_check(adata, rows)
    return scores, verdict, {name: umap(adata, key) for name, key in rows.items()}, paired_difference(cond, nb)


def pick(results: list[RunResult], family: str, *, conditional: bool = False, arch: str = REAL_ARCH) -> RunResult:
    """The run of ``arch`` and ``family`` (plain or batch-conditional) among ``results``.

    Parameters
    ----------
    results
        Runs to search.
    family
        A family name, e.g. ``"nb/raw"``.
    conditional
        Whether the run is batch-conditional.
    arch
        Architecture name.

    Returns
    -------
    RunResult

    Raises
    ------
    KeyError
        If no such run is present.
    """
    for r in results:
        if r.spec.arch == arch and r.spec.family == family and r.spec.conditional == conditional:
            return r
    raise KeyError(f"no {arch} {family}{' +batch' if conditional else ''} run among the results")


def starter_task() -> None:
    """The real cells chapter's scIB check, UMAPs and seed mixings, for a pool worker: fills the caches."""
    adata = starter_data()
    runs = run_all(adata, real_specs(), progress=False, jobs=1)
    nb = pick(runs, "nb/raw")
    starter_batch(adata, nb, pick(runs, "nb/raw", conditional=True))
    starter_seed_mixing(adata, nb)
    donor_rescore(adata)



#: Columns of Table R2, the starter's runs.
RUN_COLS = ["family", "model", "test ELBO", "test recon", "test KL", "test IWAE", "IWAE s.e.", "active units", "epochs"]


@dataclass
class RealCellsChapter:
    """The real cells chapter's runs on the starter, and what the page shows of them.

    Parameters
    ----------
    adata
        The prepared starter (latents are added to ``obsm``).
    main
        The book's data, for the side-by-side comparison.
    planned
        Its :data:`~cellvae.study.chapters.plans.REAL_CELLS` groups, loaded.
    """

    adata: ad.AnnData
    main: ad.AnnData
    planned: dict[str, list[RunResult]]

    @property
    def results(self) -> list[RunResult]:
        """The starter's runs (:func:`real_specs`)."""
        return self.planned["starter"]

    @cached_property
    def table(self) -> pd.DataFrame:
        """One row per starter run.

        Returns
        -------
        pandas.DataFrame
        """
        return results_table(self.results)

    @property
    def nb(self) -> RunResult:
        """The plain NB run of :data:`REAL_ARCH`."""
        return pick(self.results, "nb/raw")

    @property
    def cond(self) -> RunResult:
        """Its batch-conditional twin."""
        return pick(self.results, "nb/raw", conditional=True)

    @property
    def zinb(self) -> RunResult:
        """Its zero-inflated twin."""
        return pick(self.results, "zinb/raw")

    def training(self) -> tuple[dict, pd.DataFrame]:
        """The training rule's numbers with the convergence sentence, and Table R2.

        Returns
        -------
        facts : dict
            Glue values: the budget, the cells fitted, the steps per epoch and the convergence sentence.
        table : pandas.DataFrame
            Table R2.
        """
        tc = STARTER_TRAIN
        n_fit = int(fit_and_select(self.adata)[0].sum() * (1 - tc.validation_fraction))  # minus selection cells
        return ({"arch": REAL_ARCH, "n_arch": len({s.arch for s in real_specs()}), "max_epochs": tc.max_epochs,
                 "patience": tc.patience, "n_fit": n_fit, "steps": -(-n_fit // tc.batch_size),
                 "converged": converged_sentence(self.table, max_epochs=tc.max_epochs)}, self.table[RUN_COLS])

    def ppc_runs(self) -> dict[str, RunResult]:
        """NB and ZINB of :data:`REAL_ARCH`: the zero check's runs.

        Returns
        -------
        dict of str to RunResult
        """
        return {f"{REAL_ARCH} nb/raw": self.nb, f"{REAL_ARCH} zinb/raw": self.zinb}

    @cached_property
    def batch(self) -> tuple:
        """:func:`starter_batch` of the NB pair: scores, verdict, UMAPs, conditioning's IWAE gain.

        Returns
        -------
        tuple
        """
        return starter_batch(self.adata, self.nb, self.cond)

    def labels(self) -> dict[str, np.ndarray]:
        """The UMAPs' colourings: donor batch and cell type.

        Returns
        -------
        dict of str to numpy.ndarray
        """
        return {"batch (donor)": self.adata.obs["batch"].astype(str).to_numpy(),
                "cell type": self.adata.obs["cell_type"].astype(str).to_numpy()}

    @cached_property
    def findings(self):
        """The real cells' :class:`~cellvae.study.chapters.side_by_side.Findings`.

        Returns
        -------
        Findings
        """
        from . import side_by_side

        scores, verdict = self.batch[:2]
        mixing = starter_seed_mixing(self.adata, self.nb), scores.loc[f"{REAL_ARCH} NB +batch", MIXING]
        return side_by_side.findings(self.results, self.nb, self.cond, self.zinb, mixing,
                                     "detected" if verdict["pca_flagged"] else "not detected",
                                     simulated=False, n_genes=self.adata.n_vars)

    @cached_property
    def donors(self) -> tuple[pd.DataFrame, str]:
        """The donor difference re-scored without biology genes and at matched depth, and its sentence.

        Returns
        -------
        table : pandas.DataFrame
            :func:`~cellvae.study.calls.donors.donor_rescore` of the starter.
        sentence : str
            :func:`~cellvae.study.calls.donors.donor_sentence`.
        """
        table = donor_rescore(self.adata)
        return table, donor_sentence(table, biology_genes(self.adata))

    def side_by_side(self) -> tuple[list[str], str]:
        """Each finding on real cells beside the same finding on the main chapters' data.

        Returns
        -------
        sentences : list of str
            :func:`~cellvae.study.chapters.side_by_side.compare_findings` output.
        main_name : str
            What the main chapters ran on, in words.
        """
        from . import side_by_side

        main_f = side_by_side.main_findings(self.main, self.planned["main"])
        name = side_by_side.main_name(self.main)
        same = is_bmmc(self.main)
        return side_by_side.compare_findings(main_f, self.findings, main_name=name, same_tissue=same), name


def real_cells_chapter(adata: ad.AnnData, main: ad.AnnData) -> RealCellsChapter:
    """The real cells chapter's object, from its plan's cached runs.

    Parameters
    ----------
    adata
        The prepared starter (:func:`~cellvae.study.runner.bookdata.starter_data`).
    main
        The book's data.

    Returns
    -------
    RealCellsChapter
    """
    from .plans import REAL_CELLS

    return RealCellsChapter(adata, main, REAL_CELLS.load(data={"book": main, "starter": adata}))
