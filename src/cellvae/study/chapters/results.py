"""The results chapter: every table and sentence it shows, computed from its plan's runs.

``book/results.md`` builds one :class:`ResultsChapter` and only styles, glues and plots what it
returns.  :func:`results_task` fills the chapter's score caches ahead, in ``cellvae-grid``'s pool.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

import anndata as ad
import pandas as pd

from ..calls import collapse, nat_units, original_study, raw_gaussians, zero_inflation
from ..calls.plan import CHOSEN_FAMILY
from ..calls.selection import ModelChoice, choose_model, converged_sentence
from ..runner import grid
from ..runner.bookdata import book_data, is_bmmc
from ..runner.cache import RunResult
from ..runner.runs import SELECT_FRACTION, run_all
from ..runner.tables import results_table

#: The three families compared in nats (Tables 2a-2c, 2e).
MAIN_FAMILIES = ("gaussian/preprocessed", "gaussian/processed", "nb/raw")
#: Columns of the fit tables (2a-2c) and of the per-run table (2e).
FIT_COLS = ["model", "latent", "hidden", "select IWAE", "test ELBO", "test recon", "test KL", "test IWAE", "IWAE s.e."]
RUN_COLS = ["family", "model", "seed", "train ELBO", "test ELBO", "test KL", "active units", "epochs", "stopped"]
#: Families whose learning curves Fig 9 shows, one panel each.
CURVE_FAMILIES = ("nb/raw", "gaussian/processed", "gaussian/preprocessed", "original")


def results_task() -> None:
    """The results chapter's collapsed-posterior scores, for a pool worker: fills the cache."""
    adata = book_data()
    results = run_all(adata, grid.report_specs(), progress=False, jobs=1)
    original_study.collapsed_check(adata, results, choose_model(results, family=CHOSEN_FAMILY).best)


@dataclass
class ResultsChapter:
    """The results chapter's runs and what the page shows of them.

    Parameters
    ----------
    adata
        The book's data.
    planned
        Its :data:`~cellvae.study.chapters.plans.RESULTS` groups, loaded.
    """

    adata: ad.AnnData
    planned: dict[str, list[RunResult]]
    table: pd.DataFrame = field(init=False)   # one row per run of the main grid
    choice: ModelChoice = field(init=False)   # the NB architecture chosen on validation

    def __post_init__(self):
        self.table = results_table(self.results)
        self.choice = choose_model(self.results, family=CHOSEN_FAMILY)

    @property
    def results(self) -> list[RunResult]:
        """The main grid's runs."""
        return self.planned["grid"]

    @property
    def first(self) -> list[RunResult]:
        """One run per architecture and family: the first seed's."""
        return [r for r in self.results if r.spec.train.seed == grid.SEEDS[0]]

    def training_glue(self) -> dict:
        """The training rule's numbers and the convergence sentence.

        Returns
        -------
        dict
            Glue key -> value.
        """
        tc = grid.BOOK_TRAIN
        return {"iwae_k": grid.BOOK_IWAE_K, "n_runs": len(self.results), "lr": f"{tc.lr:g}",
                "batch_size": tc.batch_size, "warmup": tc.kl_warmup_epochs, "patience": tc.patience,
                "val_share": f"{tc.validation_fraction:.0%}", "select_share": f"{SELECT_FRACTION:.0%}", "max_epochs": tc.max_epochs,
                "total_minutes": f"{self.table['seconds'].sum() / 60:.1f}", "n_grid_seeds": len(grid.SEEDS),
                "seed_list": ", ".join(map(str, grid.SEEDS)),
                "converged_sentence": converged_sentence(self.table, max_epochs=tc.max_epochs)}

    def ranking(self) -> pd.DataFrame:
        """Table 2a: the NB architectures ranked on selection IWAE over seeds, with the paired test.

        Returns
        -------
        pandas.DataFrame
        """
        return self.choice.ranking.drop(columns="seeds")

    @property
    def main(self) -> pd.DataFrame:
        """The runs of :data:`MAIN_FAMILIES`."""
        return self.table[self.table["family"].isin(MAIN_FAMILIES)]

    def fit_table(self, family: str) -> pd.DataFrame:
        """Tables 2b-2c: one family's fit, in its own unit per cell.

        Parameters
        ----------
        family
            One of :data:`MAIN_FAMILIES`.

        Returns
        -------
        pandas.DataFrame
            :data:`FIT_COLS` of that family's runs.
        """
        return self.main[self.main["family"] == family][FIT_COLS]

    def run_table(self, *, first_seed: bool = False) -> pd.DataFrame:
        """Table 3a: every run of the main families, with how it stopped.

        Parameters
        ----------
        first_seed
            Only each architecture's first seed, as the page shows it (the rest is a download).

        Returns
        -------
        pandas.DataFrame
        """
        runs = self.main[RUN_COLS]
        return runs[runs["seed"] == runs["seed"].min()] if first_seed else runs

    def scaled_counts(self) -> tuple[float, pd.DataFrame]:
        """Table 2d: the log-data Gaussians moved to scaled counts by the log1p Jacobian, and the Jacobian.

        Returns
        -------
        jacobian : float
            Mean log1p Jacobian per test cell, nats.
        table : pandas.DataFrame
            Table 2d.
        """
        test = (self.adata.obs["split"] == "test").to_numpy()
        jac = nat_units.log1p_jacobian(self.adata, test)
        return jac, nat_units.on_scaled_counts(self.table, jac)

    @cached_property
    def ablated(self) -> pd.DataFrame:
        """The main grid and the original study's objective at the chosen size, one table.

        Returns
        -------
        pandas.DataFrame
        """
        return pd.concat([self.table, results_table(self.planned["original"])], ignore_index=True)

    def collapse_summary(self) -> dict:
        """The original objective's collapse in numbers and sentences (:func:`~cellvae.study.calls.collapse.collapse_summary`).

        Returns
        -------
        dict
        """
        return collapse.collapse_summary(self.ablated, self.adata.n_vars)

    def original_table(self) -> pd.DataFrame:
        """Table 3: the original objective and its ablations, in the original's per-element units too.

        Returns
        -------
        pandas.DataFrame
        """
        orig = self.ablated[self.ablated["family"].isin(["original", *grid.ABLATION_FAMILIES])]
        n = self.adata.n_vars
        return orig[["family", "model", "beta", "test recon", "test KL", "active units"]].assign(
            **{"recon per element": orig["test recon"] / n,
               "MSE per element": original_study.mse_per_element(orig["test recon"], n),
               "KL per latent dim": orig["test KL"] / orig["latent"]})

    def collapsed_check(self) -> tuple[dict, pd.DataFrame, int]:
        """The collapsed model's biology against a random latent's.

        Returns
        -------
        sentences : dict
            ``mse_sentence`` and ``collapsed_bio``.
        bio : pandas.DataFrame
            Table 3d.
        n_noise : int
            Random latents drawn.
        """
        best = self.choice.best
        orig_m1, bio, noise = original_study.collapsed_check(self.adata, self.results, best)
        o = self.table["family"] == "original"
        mse = original_study.mse_per_element(self.table.loc[o, "test recon"], self.adata.n_vars)
        collapsed = collapse.is_collapsed(orig_m1.metrics["test_kl"], orig_m1.metrics["active_units"])
        return ({"mse_sentence": original_study.mse_sentence(mse) if is_bmmc(self.adata) else
                 _not_compared(mse)[0].upper() + _not_compared(mse)[1:] + ".",
                 "collapsed_bio": original_study.collapsed_sentence(
                     bio, noise, "M1 original", f"{best.spec.arch} NB", is_collapsed=collapsed)}, bio, len(noise))

    def original_claims(self) -> dict[str, str]:
        """What was and was not reproduced of the original's three failures, one clause each.

        The intro, this chapter and the conclusions glue these same clauses, so the three pages
        cannot tell the original's story differently.

        Returns
        -------
        dict
            ``raw_claim`` (its divergence on raw counts), ``recon_claim`` (its 0.0002) and
            ``collapse_claim`` (its collapsed posterior), each starting "reproduced here" or
            "not reproduced here".
        """
        n = self.adata.n_vars
        o = self.table["family"] == "original"
        # the raw table alone: raw_gaussians() also fits the per-gene baseline, which no clause reads
        return {"raw_claim": raw_gaussians.divergence_verdict(raw_gaussians.raw_table(self.planned["raw gaussians"])),
                "recon_claim": (original_study.recon_verdict if is_bmmc(self.adata) else _not_compared)(
                    original_study.mse_per_element(self.table.loc[o, "test recon"], n)),
                "collapse_claim": original_study.collapse_verdict(original_study.collapse_table(self.results, n))}

    def raw_gaussians(self) -> tuple[pd.DataFrame, str]:
        """Table 3e and its sentence: the Gaussians on raw counts against a per-gene Gaussian.

        Returns
        -------
        table : pandas.DataFrame
            Table 4.
        sentence : str
            Its reading, in Markdown.
        """
        tab = raw_gaussians.raw_table(self.planned["raw gaussians"])
        return tab, raw_gaussians.raw_sentence(tab, raw_gaussians.gene_gaussian_baseline(self.adata))

    @cached_property
    def sweep(self) -> pd.DataFrame:
        """The chosen model's beta sweep, one row per beta.

        Returns
        -------
        pandas.DataFrame
        """
        return results_table(self.planned["sweep"])

    def sweep_table(self) -> pd.DataFrame:
        """The beta sweep's table: the columns the collapse page shows.

        Returns
        -------
        pandas.DataFrame
        """
        return self.sweep[["beta", "test ELBO", "test recon", "test KL", "test IWAE", "active units"]]

    def ppc_runs(self) -> dict[str, RunResult]:
        """The chosen architecture in every family, and its ZINB twin: the zero check's runs.

        Returns
        -------
        dict of str to RunResult
            Row name -> run.
        """
        arch = self.choice.best.spec.arch
        out = {f"{arch} {r.spec.family}": r for r in self.first if r.spec.arch == arch and r.spec.family in MAIN_FAMILIES}
        out[f"{arch} zinb/raw"] = self.planned["zinb"][0]
        return out

    def zero_inflation(self) -> tuple[bool, str]:
        """Whether ZINB beats NB here, and the sentence that says so with its evidence.

        Returns
        -------
        better : bool
            Whether ZINB's held-out bound beats NB's beyond the noise.
        sentence : str
            The finding, in Markdown.
        """
        runs = self.ppc_runs()
        arch = self.choice.best.spec.arch
        return zero_inflation.zero_inflation_finding(runs[f"{arch} nb/raw"], runs[f"{arch} zinb/raw"],
                                                     simulated="simulation" in self.adata.uns)

    def curves(self) -> dict:
        """Fig 9's learning curves: family -> architecture -> history.

        Returns
        -------
        dict
        """
        return {f: {r.spec.arch: r.history for r in self.first if r.spec.family == f} for f in CURVE_FAMILIES}


def results_chapter(adata: ad.AnnData) -> ResultsChapter:
    """The results chapter's object, from its plan's cached runs.

    Parameters
    ----------
    adata
        The book's data.

    Returns
    -------
    ResultsChapter
    """
    from .plans import RESULTS

    return ResultsChapter(adata, RESULTS.load(adata=adata))


def _not_compared(mse) -> str:
    """The original's 0.0002 was measured on BMMC cells: on another tissue it is not compared."""
    return (f"not compared here: the original's {original_study.ORIGINAL_RECON:g} was measured on BMMC cells and "
            f"this data is another tissue; our per-element MSE under its objective is {min(mse):.2g}-{max(mse):.2g}")
