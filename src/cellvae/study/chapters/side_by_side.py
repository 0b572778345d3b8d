"""The study's findings on two datasets, side by side: the main chapters' data and real cells.

Each :class:`Findings` holds the main conclusions of the study on one dataset as numbers
and booleans; :func:`compare_findings` turns two of them into sentences whose "agree" or
"differ" is decided by comparing the booleans, never typed.
"""

from __future__ import annotations

from dataclasses import dataclass

import anndata as ad
import numpy as np

from ..calls.collapse import original_collapse
from ..calls.controls import FPR, prediction_bounds
from ..calls.embeddings import batch_embeddings, seed_mixing
from ..calls.verdicts import ABOVE, BELOW, REFUSED
from ..calls.zero_inflation import zero_inflation_finding
from ..runner.cache import RunResult
from ..runner.grid import zinb_of
from ..runner.runs import run_all
from ..runner.scored import scored_cells
from ..runner.tables import results_table
from ..scoring.integration import MIXING, benchmark
from .batch_effects import batch_evidence


@dataclass
class Findings:
    """The main conclusions of the study on one dataset, as numbers and booleans."""

    n_collapsed: int     # architectures collapsed under the original objective
    n_original: int      # architectures trained under it
    nb_au: tuple         # (min, max) active units of the NB models
    zinb_better: bool    # ZINB beats NB on the zeros and on held-out likelihood
    mixing_plain: tuple  # batch mixing of the plain NB latent at each training seed
    mixing_cond: float   # batch mixing of the NB +batch latent
    pca_call: str        # the unintegrated PCA's batch call: "detected", "not detected" or "inconclusive"
    n_genes: int = 0     # genes G of the data, which set beta_eff = G/d under the original objective
    orig_kl: tuple = (np.nan, np.nan)  # (min, max) test KL (nats per cell) under the original objective

    @property
    def all_collapsed(self) -> bool:
        """Whether every architecture collapsed under the original objective."""
        return self.n_collapsed == self.n_original

    @property
    def n_mixing_seeds(self) -> int:
        """How many of the plain NB's seed scores are finite (a seed whose run failed has NaN)."""
        return int(np.isfinite(np.asarray(self.mixing_plain, float)).sum())

    @property
    def mixing_bounds(self) -> tuple[float, float] | None:
        """The plain NB's two-sided prediction interval over its seeds (:data:`FPR`/2 each side).

        None with fewer than two finite seed scores or no finite NB +batch score: then
        nothing is judged.
        """
        if self.n_mixing_seeds < 2 or not np.isfinite(self.mixing_cond):
            return None
        return prediction_bounds(np.asarray(self.mixing_plain, float), fpr=FPR / 2)

    @property
    def mixing_change(self) -> int | None:
        """+1 (-1) when NB +batch mixes above (below) the plain NB's interval, 0 inside, None unjudged."""
        bounds = self.mixing_bounds
        if bounds is None:
            return None
        return 1 if self.mixing_cond > bounds[1] else -1 if self.mixing_cond < bounds[0] else 0

    def mixing_verdict(self) -> str:
        """Whether conditioning on batch changes batch mixing beyond the seed spread, or why not judged.

        Returns
        -------
        str
            From :attr:`mixing_change`; when it is None, the reason: no finite NB +batch score,
            or fewer than two finite seed scores of the plain NB.
        """
        if self.mixing_change is None:
            why = ("no NB +batch score" if not np.isfinite(self.mixing_cond)
                   else f"{self.n_mixing_seeds} usable seed score(s), two needed")
            return f"not judged ({why})"
        return {1: "mixing improves beyond the seed-to-seed spread", 0: "mixing stays within the seed-to-seed spread",
                -1: "mixing worsens beyond the seed-to-seed spread"}[self.mixing_change]

    def mixing_text(self) -> str:
        """NB +batch's batch mixing against the plain NB's interval, for a sentence.

        Returns
        -------
        str
            The score, the interval and the number of usable seed scores.
        """
        n, bounds = self.n_mixing_seeds, self.mixing_bounds
        if bounds is None:
            cond = f"{self.mixing_cond:.3f}" if np.isfinite(self.mixing_cond) else "not scored"
            return f"batch mixing {cond}, {n} usable seed score(s) of the plain NB"
        lo, hi = bounds
        return f"batch mixing {self.mixing_cond:.3f} against the plain NB's {lo:.3f} to {hi:.3f} over {n} seeds"


def findings(results: list[RunResult], nb: RunResult, cond: RunResult, zinb: RunResult,
             mixing: tuple, pca_call: str, *, simulated: bool, n_genes: int) -> Findings:
    """Collect :class:`Findings` from a dataset's runs and scores.

    Parameters
    ----------
    results
        Runs including the ``original`` and ``nb/raw`` families.
    nb, cond, zinb
        The plain, batch-conditional and zero-inflated runs of one architecture.
    mixing
        Batch mixing of the plain NB latents, one per training seed
        (:func:`~cellvae.study.calls.embeddings.seed_mixing`), and of the NB +batch latent.
    pca_call
        The data's PCA's batch call against its own null: ``"detected"``, ``"not detected"``
        or ``"inconclusive"``.
    simulated
        Whether the data are simulated (passed to the zero-inflation check).
    n_genes
        Genes in the data.

    Returns
    -------
    Findings
    """
    n_col, n_orig, _ = original_collapse(results_table(results), n_genes)
    nb_au = [r.metrics["active_units"] for r in results if r.spec.family == "nb/raw" and not r.spec.conditional
             and "active_units" in r.metrics]
    better, _ = zero_inflation_finding(nb, zinb, simulated=simulated)
    kl = [r.metrics["test_kl"] for r in results  # the first seed, as Table R2b and Fig R1 show
          if r.spec.family == "original" and r.spec.train.seed == 0 and "test_kl" in r.metrics]
    return Findings(n_col, n_orig, (int(min(nb_au)), int(max(nb_au))), bool(better),
                    tuple(float(m) for m in mixing[0]), float(mixing[1]), str(pca_call), n_genes,
                    (float(min(kl)), float(max(kl))) if kl else (np.nan, np.nan))


def main_name(main: ad.AnnData) -> str:
    """What the main chapters ran on, in words.

    Parameters
    ----------
    main
        The book data.

    Returns
    -------
    str
        ``"simulated data"`` or ``"main chapters' real file"``.
    """
    return "simulated data" if "simulation" in main.uns else "main chapters' real file"


def _agree(a, b, same_tissue: bool = True) -> str:
    if same_tissue:
        return "the two agree" if a == b else "**the two differ**"
    return ("the same outcome, in another tissue (not a replication)" if a == b else
            "a different outcome, in another tissue")


def compare_findings(main: Findings, real: Findings, *, main_name: str, same_tissue: bool = True) -> list[str]:
    """One sentence per finding: its value on the main data and on real cells, and whether they agree.

    Parameters
    ----------
    main, real
        Findings on the main chapters' data and on the starter.
    main_name
        How to call the main data, e.g. ``"simulated data"``.
    same_tissue
        Whether the main data is BMMC, like the starter; otherwise the sentences say "the same
        outcome, in another tissue" rather than "agree", which would read as a replication.

    Returns
    -------
    list of str
        Markdown sentences; "agree" or "differ" is decided by comparing the two outcomes.
        A change in batch mixing counts only when NB +batch falls outside the plain NB's
        prediction interval over its training seeds (:attr:`Findings.mixing_bounds`).
    """
    def pair(m, r, same=None):  # same: the outcomes compared, when the texts say more than the outcome
        return f"{m} on the {main_name}, {r} on real cells: {_agree(*(same or (m, r)), same_tissue)}."

    def yes(flag, pos, neg):
        return pos if flag else neg

    def nats(x):
        return f"{x:.2g}" if abs(x) < 10 else f"{x:,.0f}"

    def share(f):  # the numbers compared, not a threshold's yes or no
        lo, hi = f.orig_kl
        kl = ("" if not np.isfinite(lo) else f" (test KL {nats(lo)} nats per cell)" if lo == hi else
              f" (test KL {nats(lo)} to {nats(hi)} nats per cell)")
        return f"{f.n_collapsed} of {f.n_original} collapse{kl}"

    nbau = "no NB model collapses", "some NB model collapses"
    zinb = "ZINB beats NB", "ZINB does not beat NB"
    return [
        f"*Collapse under the original objective* ({main.n_collapsed} of {main.n_original} architectures on the "
        f"{main_name} with {main.n_genes:,} genes, {real.n_collapsed} of {real.n_original} on real cells with "
        f"{real.n_genes:,}; beta_eff = G/d grows with the genes G; Table R2b and Fig R1 give each dimension's KL): "
        + pair(share(main), share(real), same=(main.n_collapsed / max(main.n_original, 1),
                                                real.n_collapsed / max(real.n_original, 1))),
        f"*Active units under the NB ELBO* ({main.nb_au[0]} to {main.nb_au[1]} on the {main_name}, "
        f"{real.nb_au[0]} to {real.nb_au[1]} on real cells): "
        + pair(yes(main.nb_au[0] > 1, *nbau), yes(real.nb_au[0] > 1, *nbau)),
        "*Zero inflation*: " + pair(yes(main.zinb_better, *zinb), yes(real.zinb_better, *zinb)),
        "*A batch effect in the unintegrated PCA*: "
        + pair(main.pca_call, real.pca_call),
        f"*Conditioning on batch* ({main.mixing_text()} on the {main_name}'s held-out test cells; "
        f"{real.mixing_text()} on all the real starter cells, so the two scopes differ; "
        f"{1 - FPR:.0%} prediction intervals): "
        + pair(main.mixing_verdict(), real.mixing_verdict(), same=(main.mixing_change, real.mixing_change)),
    ]


def main_mixing(adata: ad.AnnData, results: list[RunResult]) -> tuple:
    """Batch mixing on the test cells of the chosen NB latent, plain at each seed and batch-conditional.

    Parameters
    ----------
    adata
        The book data; the embeddings are added to ``obsm``.
    results
        The :func:`~cellvae.study.runner.grid.report_specs` runs on it.

    Returns
    -------
    tuple
        The model choice, the plain and the conditional NB runs, and the mixing scores for
        :func:`findings`: the plain latent's at each seed
        (:func:`~cellvae.study.calls.embeddings.seed_mixing`), and the conditional's.
    """
    choice, nb, cond, keys = batch_embeddings(adata, results)
    arch = choice.best.spec.arch
    test = scored_cells(adata)
    plain = seed_mixing(adata, choice.runs[arch], mask=test)
    cond_mix = benchmark(adata, {f"{arch} NB +batch": keys[f"{arch} NB +batch"]}, mask=test, full=False)[MIXING]
    return choice, nb, cond, (plain, float(cond_mix.iloc[0]))


def findings_task() -> None:
    """:func:`main_mixing` for a pool worker of ``cellvae-grid``: fills the score cache."""
    from ..runner.bookdata import book_data
    from ..runner.grid import report_specs

    adata = book_data()
    main_mixing(adata, run_all(adata, report_specs(), progress=False, jobs=1))


def main_findings(adata: ad.AnnData, results: list[RunResult]) -> Findings:
    """:class:`Findings` of the main chapters, from their cached runs, scores and controls.

    Parameters
    ----------
    adata
        The book data (:func:`~cellvae.study.runner.bookdata.book_data`); embeddings are added to ``obsm``.
    results
        The :func:`~cellvae.study.runner.grid.report_specs` runs on it.

    Returns
    -------
    Findings
        With the batch chapter's chosen architecture and its simulated-control decision rule.
    """
    choice, nb, cond, mix = main_mixing(adata, results)
    zinb = run_all(adata, [zinb_of(choice.best.spec)], progress=False)[0]
    pca = batch_evidence(adata, results).verdicts.loc["PCA"]
    call = {BELOW: "detected", ABOVE: "not detected", REFUSED: "not judged"}.get(pca["mixing call"], "inconclusive")
    return findings(results, nb, cond, zinb, mix, call, simulated="simulation" in adata.uns,
                    n_genes=adata.n_vars)
