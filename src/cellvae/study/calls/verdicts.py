"""Batch verdicts computed from the calibrated nulls: joint, per scope, and a detection limit.

Each embedding is scored over replicates (training seeds, or resamples of cells), and each
statistic is compared with its own kind's null threshold by **one-sided t-tests at**
:data:`~cellvae.study.calls.controls.FPR`: it is *above* when the lower one-sided bound of its
mean clears the threshold (a non-inferiority test whose margin is the null's prediction
bound), *below* when the upper bound falls short of it, and **inconclusive** in between.  An
embedding is **well integrated** only when both batch mixing and bio conservation are shown
above; **batch-affected** when mixing is shown below while biology is kept; a random or
collapsed embedding that mixes but keeps no biology is **no structure**, never "no batch
effect"; any inconclusive part makes the whole verdict inconclusive.  A verdict is **refused**
when the null's mixing threshold lies above the perfect-mixing control's score (the same
latent with its batch labels shuffled within cell type): no embedding could pass such a null,
so failing it shows nothing about the data.  Every function here is
pure: numbers in, words out, so a test can flip each verdict by changing its input.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..scoring.integration import BIO, MIXING
from .controls import FPR

WELL, AFFECTED, NO_STRUCTURE, BOTH = ("well integrated", "batch-affected", "no structure",
                                      "batch-affected, no structure")
INCONCLUSIVE, NOT_MEASURED, REFUSED = "inconclusive", "not measured", "refused"
#: The verdicts read where batches are donors pooled in the same lanes: a batch difference there
#: is donor biology, so keeping it is not a failure and removing it is not a success.
POOLED_WORDS = {WELL: "donors mixed", AFFECTED: "donors apart (donor structure kept)",
                BOTH: "donors apart, no structure"}
#: A statistic's side of its threshold (:func:`side`).
ABOVE, BELOW = "above", "below"


def bounds(values, *, alpha: float = FPR) -> tuple[float, float, float]:
    """Mean of replicate scores and its one-sided (1 - ``alpha``) lower and upper t bounds.

    Parameters
    ----------
    values
        One score per replicate (NaNs are dropped).
    alpha
        Error rate of each one-sided bound.

    Returns
    -------
    tuple of float
        ``(mean, low, high)``; the bounds are NaN with fewer than two finite replicates.
    """
    from scipy.stats import t

    x = np.asarray(values, float)
    x = x[np.isfinite(x)]
    if not len(x):
        return np.nan, np.nan, np.nan
    if len(x) < 2:
        return float(x[0]), np.nan, np.nan
    half = t.ppf(1 - alpha, len(x) - 1) * x.std(ddof=1) / np.sqrt(len(x))
    return float(x.mean()), float(x.mean() - half), float(x.mean() + half)


def side(values, threshold: float, *, alpha: float = FPR) -> str:
    """Which side of ``threshold`` the replicates' mean lies on, by one-sided t-tests at ``alpha``.

    Parameters
    ----------
    values
        One score per replicate.
    threshold
        The null's threshold.
    alpha
        Error rate of each test.

    Returns
    -------
    str
        :data:`ABOVE` (the lower bound clears it), :data:`BELOW` (the upper bound falls short),
        :data:`INCONCLUSIVE` (the interval holds it, or one replicate only), or
        :data:`NOT_MEASURED` (no score or no threshold).
    """
    mean, lo, hi = bounds(values, alpha=alpha)
    if not (np.isfinite(mean) and np.isfinite(threshold)):
        return NOT_MEASURED
    return ABOVE if lo >= threshold else BELOW if hi < threshold else INCONCLUSIVE


def judge(mixing, bio, *, mix_threshold: float, bio_threshold: float, alpha: float = FPR) -> str:
    """The joint verdict on one embedding from its replicate scores.

    Parameters
    ----------
    mixing, bio
        Its batch-mixing and bio-conservation scores, one per replicate.
    mix_threshold, bio_threshold
        Its kind's null thresholds (:func:`~cellvae.study.calls.calibration.threshold`).
    alpha
        Error rate of each one-sided test.

    Returns
    -------
    str
        :data:`WELL`, :data:`AFFECTED`, :data:`NO_STRUCTURE`, :data:`BOTH`,
        :data:`INCONCLUSIVE` or :data:`NOT_MEASURED`.
    """
    m, b = side(mixing, mix_threshold, alpha=alpha), side(bio, bio_threshold, alpha=alpha)
    if NOT_MEASURED in (m, b):
        return NOT_MEASURED
    if INCONCLUSIVE in (m, b):
        return INCONCLUSIVE
    mixed, kept = m == ABOVE, b == ABOVE
    return WELL if mixed and kept else AFFECTED if kept else NO_STRUCTURE if mixed else BOTH


def threshold_of(thr: pd.DataFrame, scope: str, kind: str, stat: str) -> float:
    """One null threshold, NaN where that scope and kind have no null (e.g. a one-site file).

    Parameters
    ----------
    thr
        :func:`~cellvae.study.calls.calibration.thresholds` output.
    scope, kind, stat
        The index entry, e.g. ``("all batches", "PCA", MIXING)``.

    Returns
    -------
    float
    """
    key = (scope, kind, stat)
    return float(thr.loc[key, "threshold"]) if key in thr.index else np.nan


def verdict_table(reps: pd.DataFrame, kinds: dict[str, str], thr: pd.DataFrame, *,
                  scope: str = "all batches", ceiling: float = np.nan) -> pd.DataFrame:
    """Each embedding's replicate means and bounds beside its null's thresholds, and the joint verdict.

    Parameters
    ----------
    reps
        Replicate scores in long form: ``embedding`` and the
        :data:`~cellvae.study.scoring.integration.MIXING` and
        :data:`~cellvae.study.scoring.integration.BIO` columns (one row per replicate).
    kinds
        Embedding -> the null kind it is judged against (a ``thr`` kind).
    thr
        :func:`~cellvae.study.calls.calibration.thresholds` output.
    scope
        Which scope's thresholds apply.
    ceiling
        The perfect-mixing control's mean batch mixing on this scope; a row whose mixing
        threshold lies above it is :data:`REFUSED` (NaN: no control, no refusal).

    Returns
    -------
    pandas.DataFrame
        One row per embedding: ``null``, ``K`` (replicates), the mean of each statistic with
        its one-sided bounds (``mixing low``/``mixing high``, ``bio low``/``bio high``), the
        thresholds, ``perfect mixing`` (``ceiling``), ``mixing call`` (:func:`side`, or
        :data:`REFUSED`) and ``verdict``.
    """
    rows = {}
    for name, kind in kinds.items():
        r = reps[reps["embedding"] == name]
        if r.empty:
            continue
        tm, tb = (threshold_of(thr, scope, kind, s) for s in (MIXING, BIO))
        (m, ml, mh), (b, bl, bh) = bounds(r[MIXING]), bounds(r[BIO])
        refused = bool(tm > ceiling)  # False when either is NaN
        rows[name] = {"null": kind, "K": len(r), MIXING: m, "mixing low": ml, "mixing high": mh,
                      "mixing threshold": tm, BIO: b, "bio low": bl, "bio high": bh, "bio threshold": tb,
                      "perfect mixing": ceiling, "mixing call": REFUSED if refused else side(r[MIXING], tm),
                      "verdict": REFUSED if refused else judge(r[MIXING], r[BIO], mix_threshold=tm,
                                                               bio_threshold=tb)}
    return pd.DataFrame(rows).T


def position(value: float, dose: pd.DataFrame, *, effect: str, kind: str) -> str:
    """Where a measured score sits on a simulated dose-response curve (its means per strength).

    Parameters
    ----------
    value
        The data's batch-mixing score on the scope that isolates ``effect``.
    dose
        :func:`~cellvae.study.calls.calibration.dose_table` output.
    effect
        ``"site"`` or ``"donor"``.
    kind
        The embedding kind whose curve is read.

    Returns
    -------
    str
        E.g. ``"between the simulated site effects 0.1 and 0.2"``.
    """
    d = dose[(dose["effect"] == effect) & (dose["kind"] == kind)].groupby("strength")["mixing"].mean()
    if d.empty or not np.isfinite(value):
        return "not measured"
    s, m = d.index.to_numpy(), d.to_numpy()  # the mean over each strength's simulations
    near = np.abs(m - value) < 0.005  # as close as the third decimal the tables print
    if near.any():
        return f"at the simulated {effect} effect {s[near][np.argmin(np.abs(m - value)[near])]:g}"
    above = s[m >= value]  # strengths that mix at least as well as the data
    below = s[m < value]
    if not len(above):  # no simulation mixes as well as the data
        return f"at or above every simulated {effect} effect's score, like no effect at all"
    if not len(below):  # every simulation mixes at least as well
        return f"below the strongest simulated {effect} effect ({s.max():g})"
    return f"between the simulated {effect} effects {above.max():g} and {below.min():g}"


def scope_sentence(row: pd.Series, *, what: str, where: str, cond: pd.Series | None) -> str:
    """One scope's verdict on the data over its replicates, and what batch conditioning does there.

    Parameters
    ----------
    row
        The plain embedding's row of a scope table (:func:`verdict_table` columns).
    what
        ``"site effect"`` or ``"donor effect"``.
    where
        The scope, e.g. ``"within donor1"``.
    cond
        The batch-conditional model's row on that scope, or None.

    Returns
    -------
    str
        "detected" (the mixing's upper bound below the threshold), "not detected" (its lower
        bound at or above it) or "inconclusive", with the numbers and the test.
    """
    m, t = row[MIXING], row["mixing threshold"]
    if not (np.isfinite(m) and np.isfinite(t)):
        return f"The {what} {where} cannot be measured here (fewer than two groups among the test cells)."
    if row["mixing call"] == REFUSED:
        return f"The {what} {where} is **not judged**: {refusal_text(row)}."
    call = {BELOW: "detected", ABOVE: "not detected"}.get(row["mixing call"], INCONCLUSIVE)
    text = (f"The {what} {where} is **{call}**: batch mixing {interval_text(row, 'mixing')} over {row['K']:.0f} "
            f"replicates against a null threshold of {t:.3f}.")
    if cond is not None and np.isfinite(cond[MIXING]):
        where_c = {BELOW: "still below", ABOVE: "at or above"}.get(cond["mixing call"], "not distinguishable from")
        text += f" Conditioning on batch moves it to {interval_text(cond, 'mixing')}, {where_c} the threshold."
    return text


def interval_text(row: pd.Series, stat: str) -> str:
    """A verdict-table row's mean of ``stat`` (``"mixing"`` or ``"bio"``) with its one-sided bounds.

    Parameters
    ----------
    row
        A row of :func:`verdict_table`.
    stat
        ``"mixing"`` or ``"bio"``.

    Returns
    -------
    str
        E.g. ``"0.712 (0.701-0.723)"``.
    """
    mean = row[MIXING] if stat == "mixing" else row[BIO]
    lo, hi = row[f"{stat} low"], row[f"{stat} high"]
    return f"{mean:.3f}" if not np.isfinite(lo) else f"{mean:.3f} ({lo:.3f}-{hi:.3f})"


def refusal_text(row: pd.Series) -> str:
    """Why a verdict-table row's call is refused: its threshold above the perfect-mixing control.

    Parameters
    ----------
    row
        A row of :func:`verdict_table` whose ``mixing call`` is :data:`REFUSED`.

    Returns
    -------
    str
        E.g. ``"its null threshold (0.960) lies above the perfect-mixing control's score (0.950),
        so no embedding could pass it"``.
    """
    return (f"its null threshold ({row['mixing threshold']:.3f}) lies above the perfect-mixing control's score "
            f"({row['perfect mixing']:.3f}), so no embedding could pass it")
