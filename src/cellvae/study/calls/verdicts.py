"""Batch verdicts computed from the calibrated nulls: joint, per scope, and a detection limit.

An embedding is **well integrated** only when its batch mixing is not below its own kind's
null threshold *and* its bio conservation is not below that null's threshold.  A random or
collapsed embedding mixes batches perfectly but keeps no biology, and is called **no
structure**, never "no batch effect".  Every function here is pure: numbers in, words out,
so a test can flip each verdict by changing its input.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..scoring.integration import BIO, MIXING
from .controls import EFFECT_SCOPES

WELL, AFFECTED, NO_STRUCTURE, BOTH = ("well integrated", "batch-affected", "no structure",
                                      "batch-affected, no structure")


def judge(mixing: float, bio: float, *, mix_threshold: float, bio_threshold: float) -> str:
    """The joint verdict on one embedding.

    Parameters
    ----------
    mixing, bio
        Its batch-mixing and bio-conservation scores.
    mix_threshold, bio_threshold
        Its kind's null thresholds (:func:`~cellvae.study.calls.calibration.threshold`).

    Returns
    -------
    str
        :data:`WELL`, :data:`AFFECTED`, :data:`NO_STRUCTURE` or :data:`BOTH`; ``"not
        measured"`` when a score is NaN.
    """
    if not (np.isfinite(mixing) and np.isfinite(bio)):
        return "not measured"
    mixed, kept = mixing >= mix_threshold, bio >= bio_threshold
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


def verdict_table(scores: pd.DataFrame, kinds: dict[str, str], thr: pd.DataFrame, *,
                  scope: str = "all batches") -> pd.DataFrame:
    """Each row's decision statistics beside its null's thresholds, and the joint verdict.

    Parameters
    ----------
    scores
        One row per embedding with :data:`~cellvae.study.scoring.integration.MIXING` and
        :data:`~cellvae.study.scoring.integration.BIO` columns.
    kinds
        Row name -> the null kind it is judged against (a ``thr`` kind).
    thr
        :func:`~cellvae.study.calls.calibration.thresholds` output.
    scope
        Which scope's thresholds apply.

    Returns
    -------
    pandas.DataFrame
        ``null``, ``batch mixing``, ``mixing threshold``, ``bio conservation``,
        ``bio threshold`` and ``verdict``.
    """
    rows = {}
    for name, kind in kinds.items():
        if name not in scores.index:
            continue
        tm, tb = (threshold_of(thr, scope, kind, s) for s in (MIXING, BIO))
        m, b = float(scores.loc[name, MIXING]), float(scores.loc[name, BIO])
        rows[name] = {"null": kind, MIXING: m, "mixing threshold": tm, BIO: b,
                      "bio threshold": tb, "verdict": judge(m, b, mix_threshold=tm, bio_threshold=tb)}
    return pd.DataFrame(rows).T


def detection_limit(dose: pd.DataFrame, thr: pd.DataFrame, kind: str) -> dict[str, float]:
    """The smallest true strength whose score falls below the null threshold, per effect.

    Parameters
    ----------
    dose
        :func:`~cellvae.study.calls.calibration.dose_table` output.
    thr
        :func:`~cellvae.study.calls.calibration.thresholds` output.
    kind
        Embedding kind.

    Returns
    -------
    dict
        ``{"site": strength, "donor": strength}``; NaN where no tested strength is flagged,
        None where the scope cannot be scored (fewer than two sites or donors in it).
    """
    out = {}
    for effect, scope in EFFECT_SCOPES:
        t = threshold_of(thr, scope, kind, MIXING)
        d = dose[(dose["effect"] == effect) & (dose["kind"] == kind) & (dose["strength"] > 0)]
        if np.isnan(t) or d.empty:
            out[effect] = None
            continue
        hit = d.loc[d["mixing"] < t, "strength"]
        out[effect] = float(hit.min()) if len(hit) else np.nan
    return out


def limit_sentence(limits: dict[str, float], tested: float) -> str:
    """``detection limit: site effect X, donor effect Y``, with ``above T`` where none is flagged.

    Parameters
    ----------
    limits
        :func:`detection_limit` output (None: the scope cannot be scored).
    tested
        The largest strength tried.

    Returns
    -------
    str
    """
    def one(v):
        return "not measurable here" if v is None else f"{v:g}" if np.isfinite(v) else f"above {tested:g}"
    return f"detection limit: site effect {one(limits['site'])}, donor effect {one(limits['donor'])}"


def position(value: float, dose: pd.DataFrame, *, effect: str, kind: str) -> str:
    """Where a measured score sits on a simulated dose-response curve.

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
    d = dose[(dose["effect"] == effect) & (dose["kind"] == kind)].sort_values("strength")
    if d.empty or not np.isfinite(value):
        return "not measured"
    s, m = d["strength"].to_numpy(), d["mixing"].to_numpy()
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
    """One scope's verdict on the data, and what batch conditioning does there.

    Parameters
    ----------
    row
        The plain embedding's row of a scope table: ``batch mixing`` and ``mixing threshold``.
    what
        ``"site effect"`` or ``"donor effect"``.
    where
        The scope, e.g. ``"within donor1"``.
    cond
        The batch-conditional model's row on that scope, or None.

    Returns
    -------
    str
    """
    m, t = row[MIXING], row["mixing threshold"]
    if not (np.isfinite(m) and np.isfinite(t)):
        return f"The {what} {where} cannot be measured here (fewer than two groups among the test cells)."
    flag = m < t
    text = (f"The {what} {where} is **{'detected' if flag else 'not detected'}**: batch mixing {m:.3f} "
            f"against a null threshold of {t:.3f}.")
    if cond is not None and np.isfinite(cond[MIXING]):
        c = cond[MIXING]
        still = c < t
        text += (f" Conditioning on batch moves it to {c:.3f}, "
                 f"{'still below' if still else 'at or above'} the threshold.")
    return text
