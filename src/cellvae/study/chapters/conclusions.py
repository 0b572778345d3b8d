"""The conclusions chapter's four paragraphs, each verdict decided by a computed condition.

Every word that states a result ("distinguishable", "collapse", "diverged", "flagged",
"smaller", "the same") is chosen by comparing numbers; tests/study/chapters/test_conclusions.py flips each one
by changing its input.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..calls.collapse import SAME_RECON, is_collapsed, original_collapse
from ..calls.selection import ModelChoice
from ..calls.verdicts import ABOVE, BELOW, POOLED_WORDS, REFUSED
from ..scoring.integration import AGGREGATES, MIXING


def n_weights(n_genes: int, latent: int, hidden: int) -> int:
    """Weights of the encoder and decoder matrices of a one-hidden-layer VAE on ``n_genes`` genes.

    Parameters
    ----------
    n_genes, latent, hidden
        Input genes, latent units and hidden width.

    Returns
    -------
    int
        ``n_genes * hidden`` (encoder in) ``+ hidden * 2 * latent`` (mean and variance)
        ``+ latent * hidden + hidden * n_genes`` (decoder); biases and per-gene
        dispersions are the same for every architecture and left out.
    """
    return 2 * n_genes * hidden + 3 * latent * hidden


def model_sentence(choice: ModelChoice, n_genes: int) -> str:
    """The model choice (selection cells, paired test, tie rule) and what the test says about its pair.

    Parameters
    ----------
    choice
        :func:`~cellvae.study.calls.selection.choose_model` output.
    n_genes
        Genes in the data, for the weight counts.

    Returns
    -------
    str
    """
    b, s = choice.best.spec, choice.second.spec
    wb, ws = (n_weights(n_genes, x.model.n_latent, x.model.n_hidden) for x in (b, s))
    g = choice.glue()
    how = ("has the best selection likelihood" if not choice.tie_rule else
           f"is chosen by the tie rule, tied with {choice.leader} ({ws:,} weights), which leads on selection cells")
    return (f"**Model choice.** {b.arch} (latent {b.model.n_latent}, hidden {b.model.n_hidden}, {wb:,} weights) with a "
            f"negative binomial decoder {how} {g['n_seeds']}; on test cells it scores {g['best_iwae']} ± "
            f"{g['best_sd']} nats per cell (IWAE, mean ± s.d. over seeds, read after the choice). Against "
            f"{s.arch}, {choice.gap:.2f} nats per cell apart on selection cells, {choice.verdict()}.")


def collapse_sentence(table: pd.DataFrame, n_genes: int) -> str:
    """How many architectures collapse under the original objective, and whether that made them look alike.

    Parameters
    ----------
    table
        :func:`~cellvae.study.runner.tables.results_table` with the ``original`` and ``nb/raw`` families.
    n_genes
        Genes in the data.

    Returns
    -------
    str
    """
    orig, nb = table[table["family"] == "original"], table[table["family"] == "nb/raw"]
    collapsed, n_orig, spread = original_collapse(table, n_genes)
    if spread < SAME_RECON:
        why = ("that is why every model looked the same" if collapsed == n_orig else
               "by that number alone they look alike, and only the KL and the active units tell them apart")
        alike = f"and their per-element reconstructions differ by only {spread:.1%}: {why}"
    else:
        alike = (f"and their per-element reconstructions differ by {spread:.1%}, so not every model looks the same "
                 "under this objective")
    col = orig[[is_collapsed(k, a) for k, a in zip(orig["test KL"], orig["active units"])]]
    au = int(col["active units"].max()) if len(col) else 0
    detail = (f" (those: KL at most {col['test KL'].max():.2g} nats, "
              f"{'no active units' if au == 0 else f'at most {au} active units'})" if len(col) else "")
    nb_col = sum(is_collapsed(k, a) for k, a in zip(nb["test KL"], nb["active units"]))
    nb_txt = (f"none of the same architectures collapses, keeping {int(nb['active units'].min())}-"
              f"{int(nb['active units'].max())} active units" if nb_col == 0 else
              f"{nb_col} of its {len(nb)} runs (every seed) collapse too")
    return (f"**Posterior collapse.** Under the original's objective (fixed-variance Gaussian, loss averaged over "
            f"{n_genes} genes, i.e. beta_eff = genes / latent) {collapsed} of {n_orig} architectures collapse"
            f"{detail}, {alike}. Under the NB ELBO {nb_txt}.")


def original_sentence(claims: dict[str, str]) -> str:
    """The original's three failures and which of them this build reproduces.

    Parameters
    ----------
    claims
        :meth:`~cellvae.study.chapters.results.ResultsChapter.original_claims`.

    Returns
    -------
    str
        Markdown.
    """
    return (f"**The original's failures.** Its Gaussian decoder diverging on raw counts is {claims['raw_claim']}; "
            f"its reconstruction loss of 0.0002 is {claims['recon_claim']}; its collapsed posterior is "
            f"{claims['collapse_claim']}.")


def likelihood_sentence(table: pd.DataFrame, arch: str) -> str:
    """Whether the count models trained without divergence, and what the Gaussian bounds measure.

    Parameters
    ----------
    table
        :func:`~cellvae.study.runner.tables.results_table` with the ``nb/raw`` and Gaussian families.
    arch
        The chosen architecture.

    Returns
    -------
    str
    """
    nb = table[table["family"] == "nb/raw"]
    bad = int((nb["status"] != "ok").sum())
    trained = ("every NB run trained without diverging" if bad == 0 else
               f"{bad} of {len(nb)} NB runs diverged")

    def iwae(fam):
        row = table[(table["family"] == fam) & (table["model"] == arch)]
        return row["test IWAE"].iloc[0] if len(row) else np.nan

    def seed(fam):
        row = table[(table["family"] == fam) & (table["model"] == arch)]
        return int(row["seed"].iloc[0]) if len(row) and "seed" in row else 0

    return (f"**Likelihood choice.** On raw counts {trained}, and the NB bound is a held-out log-likelihood in "
            f"nats of counts given the library size ({iwae('nb/raw'):.1f} per cell for {arch}, seed "
            f"{seed('nb/raw')} alone, beside the Gaussians' single runs). The Gaussian "
            f"decoders were trained on transformed data, and their bounds ({iwae('gaussian/preprocessed'):.1f} on "
            f"scaled, {iwae('gaussian/processed'):.1f} on log data) are densities on those transformations: "
            "the two compare only after the log1p change of variables (results, Table 2d), and neither compares "
            "with the count model, whose bound is a probability of integer counts.")


def batch_sentence(ev, truth: dict | None, *, pooled: bool = False) -> str:
    """Whether a batch effect is detected, by the calibrated joint rule, and what judged it.

    Parameters
    ----------
    ev
        :class:`~cellvae.study.chapters.batch_effects.Evidence` of the batch chapter.
    truth
        The simulation's parameters, or None for real data.
    pooled
        Whether the batches are donors pooled in the same lanes: the verdicts then read as donor
        structure (:data:`~cellvae.study.calls.verdicts.POOLED_WORDS`), and the call names it.

    Returns
    -------
    str
    """
    from .batch_text import data_sentence, false_negatives

    v = ev.verdicts
    pca = v.loc["PCA"]
    if not np.isfinite(pca[MIXING]):
        return ("**Batch effects cannot be measured.** The batch metrics are undefined here (a single batch, or "
                "batches too small to score): neither the presence nor the absence of a batch effect is shown.")
    call = {BELOW: "are detected", ABOVE: "are not detected",
            REFUSED: "are not judged"}.get(pca["mixing call"], "are inconclusive")
    controls = ("random embedding", "shuffled labels")
    words = POOLED_WORDS if pooled else {}
    others = ", ".join(f"{n} *{words.get(v.loc[n, 'verdict'], v.loc[n, 'verdict'])}*"
                       for n in v.index if n != "PCA" and n not in controls)
    rnd = v.loc["random embedding", "verdict"] if "random embedding" in v.index else None
    guard = ("" if rnd is None else " The rule does not reward an embedding without structure: the random one is "
             f"called *{rnd}*." if rnd != "well integrated" else
             " **The rule calls the random embedding well integrated, so it cannot be trusted here.**")
    missed = false_negatives(ev)
    fn = ("" if not missed else " **False negatives:** " + "; ".join(missed) + ", so at these strengths a "
          "\"not detected\" repeats the original's \"no batch effect\" error.")
    what = "Donor differences (donors pooled in one lane: biology)" if pooled else "Batch effects"
    return (f"**{what} {call}.** {data_sentence(ev, truth=truth, pooled=pooled)} The other embeddings: {others}.{guard} "
            f"PCA's {ev.limit_text('PCA')}.{fn}")


def conclusions(choice: ModelChoice, table: pd.DataFrame, ev, *, n_genes: int,
                truth: dict | None, pooled: bool = False) -> list[str]:
    """The report's conclusions, each a paragraph computed from the results.

    Parameters
    ----------
    choice
        The model choice from :func:`~cellvae.study.calls.selection.choose_model`.
    table
        :func:`~cellvae.study.runner.tables.results_table` with the ``original``, ``nb/raw``,
        ``gaussian/preprocessed`` and ``gaussian/processed`` families.
    ev
        As for :func:`batch_sentence`.
    n_genes
        Genes in the data.
    truth
        The simulation's parameters (``site_effect``, ``donor_effect``), or None for real data.
    pooled
        As for :func:`batch_sentence`.

    Returns
    -------
    list of str
        Four Markdown paragraphs: model choice, posterior collapse, likelihood choice and
        batch effects.
    """
    arch = choice.best.spec.arch
    return [model_sentence(choice, n_genes), collapse_sentence(table, n_genes), likelihood_sentence(table, arch),
            batch_sentence(ev, truth, pooled=pooled)]


def two_parts(main: list[str], ev, real: list[str], *, simulated: bool,
              truth: str | None = None) -> tuple[list[str], list[str]]:
    """The conclusions split into what the method recovers where the truth is known, and what real cells show.

    Parameters
    ----------
    main
        The main chapters' conclusions (:func:`conclusions` and the original study's sentence).
    ev
        The batch chapter's :class:`~cellvae.study.chapters.batch_effects.Evidence`.
    real
        :func:`real_cell_sentences` of the shipped starter.
    simulated
        Whether the main chapters ran on the simulator; on a real file their findings are about cells.
    truth
        :func:`~cellvae.study.calls.truth.truth_sentence` on simulated data, else None.

    Returns
    -------
    known, cells : list of str
        Markdown paragraphs of the two parts.
    """
    from .batch_text import power_sentence

    power = ["**Power and false positives.** " + power_sentence(ev)]
    power += ["**Truth recovery.** " + truth] if truth else []
    return ([*main, *power], real) if simulated else (power, [*main, *real])


def real_cell_sentences(ch) -> list[str]:
    """What the shipped real cells show, each finding with its limit: collapse, zeros, donors.

    Parameters
    ----------
    ch
        :class:`~cellvae.study.chapters.real_cells.RealCellsChapter` of the starter.

    Returns
    -------
    list of str
        Three Markdown paragraphs.
    """
    from ..calls.shuffled_null import batch_sentence as donor_sentence
    from ..calls.zero_inflation import zero_inflation_finding
    from ..runner.starter_grid import REAL_ARCH

    f, a = ch.findings, ch.adata
    where = (f"the {a.n_obs:,} real BMMC cells that ship with the package ({a.obs['batch'].nunique()} donors of one "
             f"site, {a.n_vars:,} genes)")
    scores, verdict = ch.batch[:2]
    return [
        f"**Posterior collapse on real cells.** On {where}, the original objective collapses {f.n_collapsed} of "
        f"{f.n_original} architectures, and the NB ELBO keeps {f.nb_au[0]} to {f.nb_au[1]} active units. Limit: a "
        "sample this small sets beta_eff and the KL at its own size; the 90,000-cell file is not run here.",
        "**Zeros on real cells.** " + zero_inflation_finding(ch.nb, ch.zinb, simulated=False)[1]
        + " Limit: one site and two donors.",
        "**Donors on real cells.** " + donor_sentence(scores, verdict, nb=f"{REAL_ARCH} NB", cond=f"{REAL_ARCH} NB +batch")
        + " " + ch.donors[1] + " Limit: each batch here is one donor, so what remains may still be biology (the "
        "state of the blood cells) as much as technique, and with one site no site effect can be measured.",
    ]


def summary_table(ev, arch: str) -> pd.DataFrame:
    """Table 8: the chosen model, its +batch version and PCA, with the held-out bound.

    Parameters
    ----------
    ev
        :func:`~cellvae.study.chapters.batch_effects.batch_evidence` output.
    arch
        The chosen architecture's name.

    Returns
    -------
    pandas.DataFrame
        The Benchmarker's unscaled aggregates on test cells, and the test IWAE in two columns,
        one per quantity bounded (NaN where a row has none).
    """
    summary = ev.table.loc[["PCA", "our NB", "our NB +batch"], list(AGGREGATES)].copy()
    summary.index = ["PCA (log data)", f"{arch} NB", f"{arch} NB +batch"]
    # one quantity per column: the plain model bounds log p(x | l), the conditional one log p(x | s, l)
    summary["test IWAE, log p(x | l)"] = [ev.nb.metrics["test_iwae"] if k == f"{arch} NB" else np.nan
                                          for k in summary.index]
    summary["test IWAE, log p(x | s, l)"] = [ev.cond.metrics["test_iwae"] if k == f"{arch} NB +batch" else np.nan
                                             for k in summary.index]
    return summary
