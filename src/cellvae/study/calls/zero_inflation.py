"""Is a zero-inflated likelihood needed? A verdict from posterior predictive checks and held-out likelihood."""

from __future__ import annotations

import pandas as pd

from ..runner.cache import paired_difference
from ..runner.ppc import ERRORS

#: ZINB reproduces the zeros better when it cuts NB's zero-fraction error by this share.
ZERO_GAIN = 0.2


def results_ppc_table(results: dict) -> pd.DataFrame:
    """The posterior predictive errors that trained runs recorded, one row per run.

    Parameters
    ----------
    results
        Row name -> :class:`~cellvae.study.runner.cache.RunResult`; runs without a ``ppc`` metric
        (a diverged run) are left out.

    Returns
    -------
    pandas.DataFrame
        Index: the names; columns: :data:`ERRORS`.
    """
    rows = {name: r.metrics["ppc"] for name, r in results.items() if "ppc" in r.metrics}
    return pd.DataFrame.from_dict(rows, orient="index", columns=list(ERRORS))


def zero_inflation_verdict(nb: dict | None, zinb: dict | None, *, ll_gain: float, ll_se: float,
                           simulated: bool) -> tuple[bool, str]:
    """Does ZINB beat NB, on the zeros and on held-out likelihood? A sentence for the page.

    Parameters
    ----------
    nb, zinb
        :func:`ppc_errors` of the NB and the ZINB model of one architecture; None for a
        run that diverged (then no verdict is given).
    ll_gain, ll_se
        ZINB's held-out IWAE minus NB's, in nats per cell, and its paired bootstrap s.e.
    simulated
        Whether the data come from cellvae's simulator, whose counts are NB with no zero
        inflation: then a ZINB gain cannot come from extra zeros, and the sentence says so.

    Returns
    -------
    zinb_better : bool
        True when ZINB cuts NB's zero-fraction error by more than :data:`ZERO_GAIN` and
        its held-out likelihood is higher by more than two standard errors.
    sentence : str
        The two comparisons and what they show.
    """
    if nb is None or zinb is None:
        return False, "The zero-inflation check could not be made: the NB or the ZINB run diverged."
    a, b = nb["zero fraction MAE"], zinb["zero fraction MAE"]
    zeros, ll = b < (1 - ZERO_GAIN) * a, ll_gain > 2 * ll_se
    if zeros and ll:
        what = "ZINB fits better on both counts"
    elif zeros:
        what = ("ZINB reproduces the zeros more closely but does not predict held-out cells better, "
                "so there is no evidence that extra zeros are needed")
    elif ll:
        what = "ZINB predicts held-out cells better without reproducing the zeros more closely"
    else:
        what = "NB already reproduces the zeros, and zero inflation is not needed"
    text = (f"The per-gene zero fraction of replicates differs from the held-out cells' by {a:.4f} on "
            f"average under NB and {b:.4f} under ZINB, and ZINB's held-out likelihood is "
            f"{ll_gain:+.1f} ± {ll_se:.1f} nats per cell relative to NB's: {what}.")
    if simulated and (zeros or ll):
        text += (" The simulator draws NB counts with per-gene dispersion and no zero inflation, so "
                 "this gain cannot come from extra zeros in the data: ZINB's extra parameters absorb "
                 "part of the NB fit's remaining misfit.")
    return zeros and ll, text


def zero_inflation_finding(nb_run, zinb_run, *, simulated: bool) -> tuple[bool, str]:
    """:func:`zero_inflation_verdict` of two trained runs of one architecture.

    Parameters
    ----------
    nb_run, zinb_run
        :class:`~cellvae.study.runner.cache.RunResult` of the NB and the ZINB run, on the same test
        cells; a diverged run (no ``ppc`` metric) gives no verdict.
    simulated
        As in :func:`zero_inflation_verdict`.

    Returns
    -------
    zinb_better : bool
    sentence : str
    """
    nb, zinb = nb_run.metrics.get("ppc"), zinb_run.metrics.get("ppc")
    if nb is None or zinb is None:
        return zero_inflation_verdict(None, None, ll_gain=0.0, ll_se=0.0, simulated=simulated)
    gain, se = paired_difference(zinb_run, nb_run)
    return zero_inflation_verdict(nb, zinb, ll_gain=gain, ll_se=se, simulated=simulated)
