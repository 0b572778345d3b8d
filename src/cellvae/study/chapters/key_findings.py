"""The intro's key findings: a few computed bullets, each linked to its evidence.

What the simulator was told to contain is a check of the method, never a finding about cells,
so the bullets come in two lists: the method's checks where the truth is known, and what real
cells show.  On a real file given through ``CELLVAE_DATA`` the main chapters' findings are about
cells, and move to the second list.  Every number and verdict word is read from the chapters'
own computed objects; tests/study/chapters/test_key_findings.py flips each.
"""

from __future__ import annotations

import numpy as np

from ..calls.calibration import OWN_STRENGTHS
from ..calls.power import POWER, power_at
from ..calls.verdicts import ABOVE, BELOW, REFUSED, interval_text
from .conclusions import original_sentence


def _see(page: str, title: str) -> str:
    return f" ([{title}]({page}.md))"


def batch_bullet(ev, *, truth: dict | None, pooled: bool = False) -> str:
    """The unintegrated PCA's batch call with its interval and threshold.

    Parameters
    ----------
    ev
        The batch chapter's :class:`~cellvae.study.chapters.batch_effects.Evidence`.
    truth
        The simulation's parameters, or None on a real file.
    pooled
        Whether the batches are donors pooled in the same lanes: a difference is then donor
        biology, and the bullet says so, as the batch pages do.

    Returns
    -------
    str
    """
    pca = ev.verdicts.loc["PCA"]
    call = {BELOW: "detected", ABOVE: "not detected", REFUSED: "not judged"}.get(pca["mixing call"], "inconclusive")
    what = ("The batch effects the simulator was told to contain (site {:g}, donor {:g})".format(
        truth["site_effect"], truth["donor_effect"]) if truth else
        "Donor differences in this file (donors pooled in one lane: biology, not a batch effect)" if pooled else
        "Batch effects in this file")
    tail = " This checks the method; it is not a finding about cells." if truth else ""
    return (f"**{what} are {call}** in the unintegrated PCA: batch mixing {interval_text(pca, 'mixing')} against a "
            f"null threshold of {pca['mixing threshold']:.3f}.{tail}" + _see("batch_effects", "Batch effects"))


def power_bullet(ev, *, bmmc: bool = True) -> str:
    """Power at the simulator's own donor strength, the size fitted to the starter's real donors.

    Parameters
    ----------
    ev
        As for :func:`batch_bullet`.
    bmmc
        Whether the data is BMMC, where that strength is a real donor effect's size.

    Returns
    -------
    str
        Says in plain words, method by method, whether a "not detected" at that size is
        informative: below :data:`~cellvae.study.calls.power.POWER` it is not; it is reliable
        only when the exact interval's lower end clears that power.
    """
    strength = OWN_STRENGTHS["donor"]
    rows = {name: r for kind, name in (("PCA", "PCA"), ("NB VAE", "our NB VAE"))
            if (r := power_at(ev.power, effect="donor", kind=kind, strength=strength)) is not None}
    if not rows:
        return ""
    got = " and by ".join(f"{name} in {r['detected']:.0f} of {r['n']:.0f} simulation{'' if r['n'] == 1 else 's'}"
                          for name, r in rows.items())
    weak = [n for n, r in rows.items() if r["power"] < POWER]
    sure = [n for n, r in rows.items() if r["low"] >= POWER]
    if weak:
        verdict = (f"below {POWER:.0%} power for {' and '.join(weak)}, so there a \"not detected\" at this size "
                   "is not evidence that donors mix")
    elif len(sure) == len(rows):
        verdict = f"at least {POWER:.0%} power even at the lower end of its exact interval: detected reliably"
    else:
        verdict = f"{POWER:.0%} power or more, from too few simulations to call it reliable"
    size = "of real size" if bmmc else "of the simulator's size"
    return (f"**A donor effect {size} ({strength:g}, fitted to the BMMC starter's donors)** is detected by "
            f"{got}: {verdict}." + _see("batch_limits", "Detection limits"))


def model_bullet(choice) -> str:
    """The model choice and what the paired test says.

    Parameters
    ----------
    choice
        :class:`~cellvae.study.calls.selection.ModelChoice`.

    Returns
    -------
    str
    """
    b = choice.best.spec
    return (f"**Model: {b.arch}** (latent {b.model.n_latent}, hidden {b.model.n_hidden}) with a negative binomial "
            f"decoder; against {choice.second.spec.arch}, {choice.verdict()}." + _see("results", "Results"))


def original_bullet(claims: dict[str, str]) -> str:
    """The original study's three failures, as the results chapter decides them.

    Parameters
    ----------
    claims
        :meth:`~cellvae.study.chapters.results.ResultsChapter.original_claims`.

    Returns
    -------
    str
    """
    return original_sentence(claims) + _see("collapse", "Posterior collapse")


def _span(lo: int, hi: int) -> str:
    return f"{lo}" if lo == hi else f"{lo} to {hi}"


def real_bullets(ch) -> list[str]:
    """What the shipped real cells show: collapse, zeros and donors, each with its number.

    Parameters
    ----------
    ch
        :class:`~cellvae.study.chapters.real_cells.RealCellsChapter` of the starter.

    Returns
    -------
    list of str
    """
    f, n = ch.findings, ch.adata.n_obs
    n_donors = ch.adata.obs["batch"].nunique()
    gap = ch.zinb.metrics.get("test_iwae", np.nan) - ch.nb.metrics.get("test_iwae", np.nan)
    zeros = ("a zero-inflated decoder is needed by the real cells chapter's rule (closer zeros and a better "
             "held-out likelihood)" if f.zinb_better else "a zero-inflated decoder is not needed by the real cells "
             "chapter's rule (closer zeros and a better held-out likelihood, both)")
    verdict = ch.batch[1]
    donors = ch.donors[0]
    if not verdict["pca_flagged"]:
        donor = f"**the {n_donors} donors' cells are not told apart** by the PCA"
    else:
        rest = ("and stay apart without the sex-linked, HLA and haemoglobin genes and at matched depth, so what "
                "separates them may be biology as much as technique" if donors["detected"].iloc[-1] else
                "but not once the sex-linked, HLA and haemoglobin genes are removed and depth is matched")
        donor = (f"**the {n_donors} donors' cells separate** (PCA batch mixing {verdict['pca_mixing']:.3f} against "
                 f"{verdict['threshold']:.3f}), {rest}")
    col = (f"none of the {f.n_original}" if f.n_collapsed == 0 else f"{f.n_collapsed} of {f.n_original}")
    see = _see("real_cells", "Real cells")
    return [
        f"**On {n:,} real BMMC cells the original objective collapses {col} architectures**, while the NB ELBO "
        f"keeps {_span(*f.nb_au)} active units." + see,
        f"On the same cells {zeros}; ZINB minus NB: {gap:+.1f} nats per cell (seed {ch.nb.spec.train.seed})." + see,
        f"On the same cells {donor}." + see,
    ]


def key_findings(ev, choice, claims: dict[str, str], ch, *, truth: dict | None, pooled: bool = False,
                 bmmc: bool = True) -> tuple[list[str], list[str]]:
    """The two lists of the intro's key findings.

    Parameters
    ----------
    ev
        The batch chapter's evidence.
    choice
        The model choice.
    claims
        The original's clauses.
    ch
        The real cells chapter of the starter.
    truth
        The simulation's parameters, or None when the main chapters ran on a real file.
    pooled
        Whether the main data's batches are donors pooled in the same lanes.
    bmmc
        Whether the main data is BMMC.

    Returns
    -------
    method, cells : list of str
        The method's checks where the truth is known (empty on a real file), and what real cells show.
    """
    main = [batch_bullet(ev, truth=truth, pooled=pooled), model_bullet(choice), original_bullet(claims)]
    power = [b for b in [power_bullet(ev, bmmc=bmmc)] if b]
    if truth:
        return [main[0], *power, *main[1:]], real_bullets(ch)
    return power, [*main, *real_bullets(ch)]
