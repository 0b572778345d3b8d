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
from ..calls.power import power_at
from ..calls.verdicts import ABOVE, BELOW, REFUSED, interval_text
from ..scoring.integration import MIXING


def _see(page: str, title: str) -> str:
    return f" ([{title}]({page}.md))"


def batch_bullet(ev, *, truth: dict | None) -> str:
    """The unintegrated PCA's batch call with its interval and threshold.

    Parameters
    ----------
    ev
        The batch chapter's :class:`~cellvae.study.chapters.batch_effects.Evidence`.
    truth
        The simulation's parameters, or None on a real file.

    Returns
    -------
    str
    """
    pca = ev.verdicts.loc["PCA"]
    call = {BELOW: "detected", ABOVE: "not detected", REFUSED: "not judged"}.get(pca["mixing call"], "inconclusive")
    what = ("The batch effects the simulator was told to contain (site {:g}, donor {:g})".format(
        truth["site_effect"], truth["donor_effect"]) if truth else "Batch effects in this file")
    tail = " This checks the method; it is not a finding about cells." if truth else ""
    return (f"**{what} are {call}** in the unintegrated PCA: batch mixing {interval_text(pca, 'mixing')} against a "
            f"null threshold of {pca['mixing threshold']:.3f}.{tail}" + _see("batch_effects", "Batch effects"))


def power_bullet(ev) -> str:
    """Power at the simulator's own donor strength, the size fitted to real donors.

    Parameters
    ----------
    ev
        As for :func:`batch_bullet`.

    Returns
    -------
    str
        Says in plain words whether a "not detected" at that size is informative.
    """
    strength = OWN_STRENGTHS["donor"]
    rows = {name: power_at(ev.power, effect="donor", kind=kind, strength=strength)
            for kind, name in (("PCA", "PCA"), ("NB VAE", "our NB VAE"))}
    got = [f"{name} in {r['detected']:.0f} of {r['n']:.0f} simulations" for name, r in rows.items() if r is not None]
    if not got:
        return ""
    weak = any(r is not None and r["power"] < 0.8 for r in rows.values())
    verdict = ("so a \"not detected\" at this size is not evidence that donors mix" if weak else
               "so an effect of this size is detected reliably")
    return (f"**A donor effect of real size ({strength:g}, fitted to the starter's donors)** is detected by "
            f"{' and '.join(got)}: {verdict}." + _see("batch_limits", "Detection limits, Fig 16"))


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
            f"decoder: {choice.verdict()}." + _see("results", "Results"))


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
    return (f"**The original study**: its diverging Gaussian is {claims['raw_claim']}; its reconstruction of 0.0002 "
            f"is {claims['recon_claim']}; its collapse is {claims['collapse_claim']}." + _see("collapse", "Posterior collapse"))


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
    gap = ch.zinb.metrics.get("test_iwae", np.nan) - ch.nb.metrics.get("test_iwae", np.nan)
    zeros = ("a zero-inflated decoder does not beat NB on held-out cells" if not f.zinb_better else
             "a zero-inflated decoder beats NB on held-out cells")
    donors = ch.donors[0]
    first, last = donors.iloc[0], donors.iloc[-1]
    if not first["detected"]:
        donor = "**the two donors' cells are not told apart** by the PCA"
    else:
        rest = ("and stay apart without the sex-linked, HLA and haemoglobin genes and at matched depth, so what "
                "separates them may be biology as much as technique" if last["detected"] else
                "but not once the sex-linked, HLA and haemoglobin genes are removed and depth is matched")
        donor = (f"**the two donors' cells separate** (PCA batch mixing {first[MIXING]:.3f} against "
                 f"{first['threshold']:.3f}), {rest}")
    see = _see("real_cells", "Real cells")
    return [
        f"**On {n:,} real BMMC cells the original objective collapses {f.n_collapsed} of {f.n_original} "
        f"architectures**, while the NB ELBO keeps {f.nb_au[0]} to {f.nb_au[1]} active units." + see,
        f"On the same cells {zeros} ({gap:+.1f} nats per cell, ZINB minus NB, one seed)." + see,
        f"On the same cells {donor}." + see,
    ]


def key_findings(ev, choice, claims: dict[str, str], ch, *, truth: dict | None) -> tuple[list[str], list[str]]:
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

    Returns
    -------
    method, cells : list of str
        The method's checks where the truth is known (empty on a real file), and what real cells show.
    """
    main = [batch_bullet(ev, truth=truth), model_bullet(choice), original_bullet(claims)]
    power = [b for b in [power_bullet(ev)] if b]
    if truth:
        return [main[0], *power, *main[1:]], real_bullets(ch)
    return power, [*main, *real_bullets(ch)]
