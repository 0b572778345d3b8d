"""The batch chapter's tables, from its :class:`~cellvae.study.chapters.batch_effects.Evidence`.

Each function returns what one table or figure of ``book/batch_effects.md`` shows; the page
only formats it.
"""

from __future__ import annotations

import anndata as ad
import numpy as np
import pandas as pd

from ..runner.bookdata import recorded
from ..runner.scored import scored_cells
from ..scoring.integration import AGGREGATES, BATCH_COLS, BIO, BIO_COLS, MIXING, scaled
from .batch_effects import SCOPE_ROWS, Evidence, mixing_of

#: Short names for the columns of the page's two metric tables (the Benchmarker's are long).
SHORT_NAMES = {"Graph connectivity": "graph conn.", "PCR comparison": "PCR comp.", "Silhouette batch": "sil. batch",
               "Isolated labels": "isolated", "KMeans NMI": "NMI", "KMeans ARI": "ARI",
               "Silhouette label": "sil. label", "Trajectory conservation": "trajectory",
               "Cell-cycle conservation": "cell cycle", "KBET": "kBET"}


def metric_tables(ev: Evidence) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The page's Tables 4a and 4b: batch correction and bio conservation, unscaled, short names.

    Parameters
    ----------
    ev
        :func:`batch_evidence` output.

    Returns
    -------
    batch, bio : pandas.DataFrame
        One row per embedding; the columns of ``BATCH_COLS`` and ``BIO_COLS``.
    """
    return tuple(ev.table[list(cols)].rename(columns=SHORT_NAMES) for cols in (BATCH_COLS, BIO_COLS))


#: The two negative controls of the main table: neither is a method.
CONTROLS = ("random embedding", "shuffled labels")


def random_wins(bio: pd.DataFrame) -> str:
    """Bio metrics on which the structure-free random embedding scores at or above every method.

    Parameters
    ----------
    bio
        Table 4b (:func:`metric_tables`): one row per embedding, the random embedding among them.

    Returns
    -------
    str
        A sentence naming each such metric with both scores; empty when the random embedding
        wins none (or is absent).
    """
    methods = bio.drop(index=[c for c in CONTROLS if c in bio.index])
    if "random embedding" not in bio.index or methods.empty:
        return ""
    rnd, best = bio.loc["random embedding"], methods.max()
    won = [c for c in bio.columns if np.isfinite(rnd[c]) and np.isfinite(best[c]) and rnd[c] >= best[c]]
    if not won:
        return ""
    each = "; ".join(f"{c} {rnd[c]:.2f} against at most {best[c]:.2f}" for c in won)
    one = len(won) == 1
    return (f"The random embedding, which keeps no structure, scores at or above every method on "
            f"{'this metric' if one else 'these metrics'} ({each}): on these cells {'it does' if one else 'they do'} "
            f"not tell structure from none. Read {'it' if one else 'them'} with care: a metric of the Benchmarker's "
            "set still counts in the bio aggregate behind Table 4c and the verdicts.")


def data_points(ev: Evidence) -> dict[str, dict[str, float]]:
    """This data's own batch mixing per scope, for PCA and our NB: the dose figure's markers.

    Parameters
    ----------
    ev
        :func:`batch_evidence` output.

    Returns
    -------
    dict
        Scope -> {"PCA": mixing, "NB VAE": mixing}.
    """
    return {sc: {"PCA": mixing_of(ev, sc, "PCA"), "NB VAE": mixing_of(ev, sc, "our NB")}
            for sc in sorted(ev.scoped["scope"].unique())}


def aggregate_table(ev: Evidence) -> pd.DataFrame:
    """Table 5: the aggregate scores, unscaled and min-max scaled over the rows as the Benchmarker does.

    Parameters
    ----------
    ev
        :func:`~cellvae.study.chapters.batch_effects.batch_evidence` output.

    Returns
    -------
    pandas.DataFrame
        Two column groups, ``unscaled`` and ``scaled``, of batch, bio and total.
    """
    agg = pd.concat({"unscaled": ev.table[list(AGGREGATES)], "scaled": scaled(ev.table)[list(AGGREGATES)]}, axis=1)
    return agg.rename(columns={"Batch correction": "batch", "Bio conservation": "bio", "Total": "total"})


def held_out_table(ev: Evidence) -> pd.DataFrame:
    """The decision statistics of :data:`SCOPE_ROWS` on test cells beside as many training cells.

    Parameters
    ----------
    ev
        :func:`~cellvae.study.chapters.batch_effects.batch_evidence` output.

    Returns
    -------
    pandas.DataFrame
        Column groups ``test cells`` and ``training cells`` of mixing and bio.
    """
    return pd.concat({"test cells": ev.table.loc[list(SCOPE_ROWS), [MIXING, BIO]], "training cells": ev.train},
                     axis=1).rename(columns={MIXING: "mixing", BIO: "bio"})


def scope_table(ev: Evidence) -> pd.DataFrame:
    """Table 6: batch mixing within one donor across sites and within one site across donors.

    Parameters
    ----------
    ev
        :func:`~cellvae.study.chapters.batch_effects.batch_evidence` output.

    Returns
    -------
    pandas.DataFrame
        Indexed by (named scope, embedding): the replicates, batch mixing's mean and one-sided
        bounds, its null threshold, and the call (below: detected; above: shown not below).
    """
    scoped = ev.scoped.assign(scope=ev.scoped["scope"].map(ev.labels)).set_index(["scope", "embedding"])
    cols = {"K": "K", MIXING: MIXING, "mixing low": "low", "mixing high": "high", "mixing threshold": "threshold",
            "mixing call": "call"}
    return scoped.reindex(columns=list(cols)).rename(columns=cols)  # no scopes on a file without sites: empty


def stops_text(ev: Evidence) -> str:
    """How the two NB runs of the batch chapter ended.

    Parameters
    ----------
    ev
        :func:`~cellvae.study.chapters.batch_effects.batch_evidence` output.

    Returns
    -------
    str
        Epochs and what stopped each, e.g. ``"NB: 120 epochs, stopped by early stopping; ..."``.
    """
    stops = {"NB": ev.nb, "NB +batch": ev.cond}
    return "; ".join(f"{k}: {r.metrics.get('epochs', 0)} epochs, stopped by "
                     f"{r.metrics.get('stopped', 'divergence').replace('_', ' ')}" for k, r in stops.items())


def batch_labels(adata: ad.AnnData) -> dict[str, np.ndarray]:
    """The batch figures' colourings.

    Parameters
    ----------
    adata
        The book's data.

    Returns
    -------
    dict
        ``donor``, ``site`` and ``batch`` -> one label per cell; a donor or site the file does not
        record, or that only repeats the batches, is left out.
    """
    obs = adata.obs
    return {k: obs[c].to_numpy() for k, c in (("donor", "DonorNumber"), ("site", "Site"), ("batch", "batch"))
            if recorded(obs, c) and (k == "batch" or not obs[c].astype(str).equals(obs["batch"].astype(str)))}


def held_out_cells(adata: ad.AnnData) -> tuple[ad.AnnData, dict[str, np.ndarray]]:
    """The held-out cells alone, with their colourings: Fig 13's input.

    Parameters
    ----------
    adata
        The book's data, with the NB latent in ``obsm``.

    Returns
    -------
    test : anndata.AnnData
        A copy of the scored test cells (:func:`~cellvae.study.runner.scored.scored_cells`).
    labels : dict
        ``donor``, ``site`` and ``cell type`` -> one label per test cell (a donor or site the
        file does not record is left out).
    """
    test = adata[scored_cells(adata)].copy()
    return test, {k: test.obs[c].to_numpy() for k, c in
                  (("donor", "DonorNumber"), ("site", "Site"), ("cell type", "cell_type")) if recorded(test.obs, c)}


#: The metrics the summary figure shows: the decision statistics' parts and the aggregates.
SUMMARY_COLS = ("iLISI", "KBET", "BRAS", "KMeans NMI", "KMeans ARI", "cLISI", "Batch correction", BIO, "Total")


def summary_frames(ev: Evidence, *, words: dict[str, str] | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """What :func:`~cellvae.study.figures.batch.batch_summary` draws: metrics, and verdicts with intervals.

    Parameters
    ----------
    ev
        :func:`batch_evidence` output.
    words
        Verdict -> the words shown (e.g. :data:`~cellvae.study.calls.verdicts.POOLED_WORDS`).

    Returns
    -------
    metrics, verdicts : pandas.DataFrame
        The rows judged over replicates, in the main table's order: :data:`SUMMARY_COLS` under
        short names, and ``mixing``, ``low``, ``high``, ``threshold``, ``verdict``.
    """
    rows = [r for r in ev.table.index if r in ev.verdicts.index]
    names = SHORT_NAMES | {"Batch correction": "batch agg.", BIO: "bio agg.", "Total": "total"}
    metrics = ev.table.loc[rows, [c for c in SUMMARY_COLS if c in ev.table]].rename(columns=names)
    v = ev.verdicts.loc[rows]
    verdicts = pd.DataFrame({"mixing": v[MIXING], "low": v["mixing low"], "high": v["mixing high"],
                             "threshold": v["mixing threshold"],
                             "verdict": v["verdict"].map(lambda w: (words or {}).get(w, w))}).astype(
        {"mixing": float, "low": float, "high": float, "threshold": float})
    return metrics, verdicts


def scope_texts(ev: Evidence, *, fpr: str, scope_null: str) -> dict[str, str]:
    """The scope section's opening and Table 6's caption, or why the section is empty.

    Parameters
    ----------
    ev
        :func:`batch_evidence` output.
    fpr
        The error rate, in words (e.g. ``"5%"``).
    scope_null
        What judges each scope row (:func:`~cellvae.study.calls.permutation.null_phrases`).

    Returns
    -------
    dict
        ``scope_intro`` and ``scope_caption`` (empty when no scope was scored).
    """
    if ev.scoped.empty:
        return {"scope_intro": "This file does not record both a site and a donor for its cells (or holds one "
                               "site and one donor), so site and donor effects cannot be told apart here, and "
                               "there is no table.", "scope_caption": ""}
    return {"scope_intro": "The batch page's metrics use the batches as they are. Within the donor sampled at the "
                           "most sites, any batch structure is a site effect; within the site with the most donors, "
                           "it is a donor effect, which is partly biology and need not be corrected away. The table "
                           "names the donor and the site.",
            "scope_caption": f"**Table 6.** Batch mixing by site within one donor, and by donor within one site (test "
                             f"cells), mean and one-sided bounds at the {fpr} error rate over K replicates, each "
                             f"against its own null's threshold ({scope_null}); the call is *below* (detected), "
                             "*above* (shown not below) or *inconclusive*."}
