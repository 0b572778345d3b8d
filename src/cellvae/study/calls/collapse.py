"""Turn computed results into the numbers and sentences the report glues in.

Nothing here is typed by hand into the chapters: each sentence is a function of
a results table, so a different run gives different words.
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def original_collapse(table: pd.DataFrame, n_genes: int) -> tuple[int, int, float]:
    """Collapsed runs, all runs and the relative spread of per-element reconstructions under ``original``.

    Parameters
    ----------
    table
        :func:`~cellvae.study.runner.tables.results_table` with the ``original`` family.
    n_genes
        Genes in the data.

    Returns
    -------
    tuple
        (collapsed runs by :func:`is_collapsed`, runs, (max - min) / |mean| of the
        reconstruction per matrix element).
    """
    orig = table[table["family"] == "original"]
    per_el = orig["test recon"] / n_genes
    n_col = sum(is_collapsed(k, a) for k, a in zip(orig["test KL"], orig["active units"]))
    return n_col, len(orig), float((per_el.max() - per_el.min()) / abs(per_el.mean()))


#: The M1 ablations of the original objective: (family, at beta = G/d, what changes).
ABLATIONS = (
    ("fixed-variance/ELBO", False, "the summed ELBO with the same fixed-variance decoder on log data"),
    ("fixed-variance/ELBO", True, "the summed ELBO at beta = G/d = {beta:.0f}, the KL weight that averaging implies"),
    ("original/preprocessed", False, "the same averaged loss on scaled counts, whose values reach the thousands"),
    ("recon-averaged", False, "only the reconstruction averaged over genes (beta_eff = G)"),
    ("KL-averaged", False, "only the KL averaged over latent dimensions (beta_eff = 1/d)"),
)


def collapse_summary(table: pd.DataFrame, n_genes: int) -> dict:
    """Numbers and sentences on the original objective's collapse and its M1 ablations.

    Parameters
    ----------
    table
        :func:`~cellvae.study.runner.tables.results_table` of runs that include the ``original`` and
        ``nb/raw`` families (and optionally the ablations of :data:`ABLATIONS`).
    n_genes
        Genes in the data.

    Returns
    -------
    dict
        Glue values ``orig_collapsed``, ``orig_collapse_detail``, ``orig_recon_spread``,
        ``nb_au_range``, ``ablations`` (sentences, or empty) and ``orig_reading``.
    """
    orig = table[table["family"] == "original"]
    nb = table[table["family"] == "nb/raw"]
    n_col, n_orig, spread = original_collapse(table, n_genes)
    col = orig[[is_collapsed(k, a) for k, a in zip(orig["test KL"], orig["active units"])]]
    out = {
        "orig_collapsed": f"{n_col} of {n_orig}",
        "orig_collapse_detail": (f"; those have a KL of at most {col['test KL'].max():.2g} nats per cell and "
                                 + ("no active latent units" if int(col["active units"].max()) == 0 else
                                    f"at most {int(col['active units'].max())} active latent units")
                                 if len(col) else ""),
        "orig_recon_spread": f"{spread:.1%}",
        "nb_au_range": f"{int(nb['active units'].min())} to {int(nb['active units'].max())}",
    }
    parts, state = [], {}
    for fam, at_gd, what in ABLATIONS:
        rows = table[table["family"] == fam]
        rows = rows[np.isclose(rows["beta"], n_genes / rows["latent"]) if at_gd else rows["beta"] == 1.0]
        if rows.empty:
            continue
        r = rows.iloc[0]
        state[(fam, at_gd)] = c = bool(is_collapsed(r["test KL"], r["active units"]))
        parts.append(f"with {what.format(beta=r['beta'])}, {r['model']} "
                     f"{'collapses' if c else 'does not collapse'} (KL {r['test KL']:.2g} nats, "
                     f"{int(r['active units'])} active units)")
    m1 = orig[orig["model"] == "M1"]
    m1_col = bool(is_collapsed(m1["test KL"].iloc[0], m1["active units"].iloc[0])) if len(m1) else None
    reading = " ".join(filter(None, [
        ablation_reading(m1_col, state.get(("fixed-variance/ELBO", False)), state.get(("fixed-variance/ELBO", True))),
        averaging_reading(m1_col, state.get(("recon-averaged", False)), state.get(("KL-averaged", False)))]))
    out["ablations"] = (f"Ablations of M1: {'; '.join(parts)}. {reading}").strip() if parts else ""
    out["orig_reading"] = collapse_reading(n_col, n_orig, spread)
    return out


def ablation_reading(averaged: bool | None, elbo: bool | None, elbo_gd: bool | None) -> str:
    """What the M1 ablations say about the cause of the collapse.

    Parameters
    ----------
    averaged
        Whether M1 collapsed under the original's averaged loss (None: not run).
    elbo, elbo_gd
        Whether it collapsed under the summed ELBO at beta = 1, and at beta = G/d.

    Returns
    -------
    str
        Whether the summed ELBO at beta = G/d behaves as the averaged loss does (the
        equivalence), and, when it does, whether the KL weight or the decoder decides.
    """
    if averaged is None or elbo_gd is None:
        return ""
    word = "collapses" if averaged else "keeps latent units"
    if elbo_gd != averaged:
        return (f"The averaged loss {word} but the summed ELBO at beta = G/d "
                f"{'collapses' if elbo_gd else 'does not'}: the equivalence does not hold in practice here, "
                "as the two objectives differ by a factor 1/G that gradient clipping and Adam's epsilon see.")
    text = f"At beta = G/d the summed ELBO {word} as the averaged loss does, as the equivalence predicts"
    if elbo is None or not averaged:
        return text + "."
    if not elbo:
        return text + ("; at beta = 1 it keeps its latent units, so the KL weight that averaging implies, "
                       "not the fixed-variance decoder, causes the collapse.")
    return text + "; at beta = 1 it collapses too, so the fixed-variance decoder collapses even at the ELBO's weight."


def averaging_reading(averaged: bool | None, recon_only: bool | None, kl_only: bool | None) -> str:
    """Which of the two averages in the original's loss causes the collapse.

    Parameters
    ----------
    averaged
        Whether M1 collapsed under the original's loss, both terms averaged (None: not run).
    recon_only, kl_only
        Whether M1 collapsed with only the reconstruction averaged over genes, and with only
        the KL averaged over latent dimensions (None: not run).

    Returns
    -------
    str
        The cause the two runs point to, or "" if a run is missing or the original's loss
        did not collapse M1 (then there is no collapse to explain).
    """
    if not averaged or recon_only is None or kl_only is None:
        return ""
    if recon_only and not kl_only:
        return ("Averaging the reconstruction alone collapses the posterior and averaging the KL alone does "
                "not: the 1/G on the reconstruction, not the 1/d on the KL, causes it.")
    if kl_only and not recon_only:
        return ("Averaging the KL alone collapses the posterior and averaging the reconstruction alone does "
                "not, against the account in the theory chapter.")
    if recon_only:
        return "Either average alone collapses the posterior."
    return "Neither average alone collapses the posterior; only the two together do."


#: Per-element reconstructions that differ by less than this share look "the same" to a reader.
SAME_RECON = 0.01


def collapse_reading(n_collapsed: int, n_runs: int, spread: float) -> str:
    """What the original objective's runs show, read as the original study read them.

    Parameters
    ----------
    n_collapsed, n_runs
        Collapsed runs (:func:`is_collapsed`) and runs under the original objective.
    spread
        Relative spread of their per-element reconstructions, (max - min) / |mean|.

    Returns
    -------
    str
        Whether every model collapsed with near-identical reconstructions (spread under
        :data:`SAME_RECON`: the original's "all models equal"), every model collapsed but
        they still differ, some collapsed, or none did.
    """
    if n_collapsed == n_runs and spread < SAME_RECON:
        return (f"The per-element reconstructions differ by {spread:.1%}, under {SAME_RECON:.0%}: the models are not "
                "\"equal\" but each has collapsed to a decoder that ignores z, which is what an identical "
                "reconstruction and a KL near zero for every model signal.")
    if n_collapsed == n_runs:
        return (f"All {n_runs} models have collapsed to a decoder that ignores z, yet their per-element "
                f"reconstructions still differ by {spread:.1%}, so they do not all look the same.")
    if n_collapsed and spread < SAME_RECON:
        return (f"{n_collapsed} of {n_runs} models have collapsed to a decoder that ignores z and the others keep "
                f"latent units, yet their per-element reconstructions differ by only {spread:.1%}, under "
                f"{SAME_RECON:.0%}: by that number alone they look alike, and only the KL and the active units "
                "tell them apart.")
    if n_collapsed:
        return (f"{n_collapsed} of {n_runs} models have collapsed to a decoder that ignores z and the others keep "
                f"latent units (reconstructions spread {spread:.1%}), so the models are not all alike.")
    return (f"No model has collapsed here (reconstructions spread {spread:.1%}), so the original's "
            "\"all models equal\" reading does not arise on this data.")


def is_collapsed(kl: float, active: int, *, kl_tol: float = 0.5) -> bool:
    """Collapse: KL near zero nats per cell and no active unit (or a single one).

    Parameters
    ----------
    kl
        Test KL term, nats per cell.
    active
        Number of active latent units.
    kl_tol
        KL below this (nats per cell) counts as near zero.

    Returns
    -------
    bool
        Whether ``kl < kl_tol`` and ``active <= 1``.
    """
    return kl < kl_tol and active <= 1


#: The beta sweep calls a run collapsed when its active units fall below this share of beta = 1's.
SWEEP_COLLAPSE_SHARE = 0.5


def beta_summary(sweep: pd.DataFrame) -> dict:
    """Active units at beta = 1 and at the largest beta, and where collapse starts.

    Parameters
    ----------
    sweep
        :func:`~cellvae.study.runner.tables.results_table` of one model over several betas,
        including beta = 1.

    Returns
    -------
    dict
        Glue values ``au_beta1``, ``au_beta_max``, ``beta_max`` and ``collapse_beta``: a
        clause naming the smallest beta > 1 whose active units fall below
        :data:`SWEEP_COLLAPSE_SHARE` of those at beta = 1 ("starts at beta = 16"), or saying
        that none did; ``collapse_share`` is that share.
    """
    sweep = sweep.sort_values("beta")
    au1 = int(sweep.loc[sweep["beta"] == 1.0, "active units"].iloc[0])
    collapsed = sweep[(sweep["beta"] > 1) & (sweep["active units"] < au1 * SWEEP_COLLAPSE_SHARE)]
    return {"au_beta1": au1, "collapse_share": f"{SWEEP_COLLAPSE_SHARE:.0%}",
            "au_beta_max": int(sweep["active units"].iloc[-1]), "beta_max": f"{sweep['beta'].iloc[-1]:g}",
            "collapse_beta": f"starts at beta = {collapsed['beta'].iloc[0]:g}" if len(collapsed) else
                             f"happens at none of the betas tried (up to {sweep['beta'].iloc[-1]:g})"}


def mc_agreement(closed, mc, mc_se, *, limit: float = 3.0) -> str:
    """Whether closed-form values agree with Monte Carlo estimates within sampling noise.

    Parameters
    ----------
    closed, mc, mc_se
        Closed-form values, their Monte Carlo estimates and the estimates' standard errors.
    limit
        Largest gap, in standard errors, that sampling noise is taken to explain.

    Returns
    -------
    str
        The largest gap in standard errors (over all values, each against its own
        error), and whether it is within ``limit``.
    """
    n_se = float(np.max(np.abs(np.asarray(closed) - np.asarray(mc)) / np.asarray(mc_se)))
    if n_se < limit:
        return f"and every gap is within {n_se:.1f} Monte Carlo standard errors, as sampling noise alone gives"
    return f"and one gap is {n_se:.1f} Monte Carlo standard errors, more than sampling noise explains"
