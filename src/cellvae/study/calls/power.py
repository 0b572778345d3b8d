"""Detection as power: how often a simulated effect of known strength is detected, and the false-positive rate.

For each effect (site alone, donor alone) and strength, the share of the
:data:`~cellvae.study.calls.calibration.POWER_SEEDS` simulations whose batch mixing falls
below the null threshold is the power, with a Clopper-Pearson interval.  The false-positive
rate is measured on the null simulations themselves, leave-one-out: each is judged against
the threshold of the others.  The **detection limit** is the smallest strength detected with
at least :data:`POWER` power; where none reaches it, the tested range is a ceiling, not a limit.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..scoring.integration import MIXING
from .controls import EFFECT_SCOPES, FPR, prediction_bounds

#: The power a strength must reach to be called detectable (the usual design target).
POWER = 0.8


def clopper_pearson(k: int, n: int, *, level: float = 0.95) -> tuple[float, float]:
    """Exact binomial interval of a proportion k/n.

    Parameters
    ----------
    k, n
        Successes and trials (n >= 1).
    level
        Two-sided coverage.

    Returns
    -------
    tuple of float
    """
    from scipy.stats import beta

    a = (1 - level) / 2
    lo = 0.0 if k == 0 else float(beta.ppf(a, k, n - k + 1))
    hi = 1.0 if k == n else float(beta.ppf(1 - a, k + 1, n - k))
    return lo, hi


def power_table(dose: pd.DataFrame, thr: pd.DataFrame) -> pd.DataFrame:
    """Power per effect, kind and strength: the share of simulations below the null threshold.

    Parameters
    ----------
    dose
        :func:`~cellvae.study.calls.calibration.dose_table` output (strength > 0 rows are read).
    thr
        :func:`~cellvae.study.calls.calibration.thresholds` output.

    Returns
    -------
    pandas.DataFrame
        ``effect``, ``kind``, ``strength``, ``n``, ``detected``, ``power``, ``low``, ``high``.
    """
    recs = []
    for effect, scope in EFFECT_SCOPES:
        d = dose[(dose["effect"] == effect) & (dose["strength"] > 0)]
        for (kind, strength), g in d.groupby(["kind", "strength"]):
            key = (scope, kind, MIXING)
            if key not in thr.index:
                continue
            m = g["mixing"].to_numpy(float)
            m = m[np.isfinite(m)]
            k = int((m < thr.loc[key, "threshold"]).sum())
            lo, hi = clopper_pearson(k, len(m)) if len(m) else (np.nan, np.nan)
            recs.append({"effect": effect, "kind": kind, "strength": float(strength), "n": len(m), "detected": k,
                         "power": k / len(m) if len(m) else np.nan, "low": lo, "high": hi})
    return pd.DataFrame(recs, columns=["effect", "kind", "strength", "n", "detected", "power", "low", "high"])


def false_positive_rate(null: pd.DataFrame, *, fpr: float = FPR) -> pd.DataFrame:
    """The measured false-positive rate: each null simulation against the threshold of the others.

    Parameters
    ----------
    null
        :func:`~cellvae.study.calls.calibration.null_table` output.
    fpr
        The nominal rate the thresholds are built for.

    Returns
    -------
    pandas.DataFrame
        Indexed by (scope, kind): ``n``, ``flagged``, ``rate``, ``low``, ``high``, for batch mixing.
    """
    recs = {}
    for (scope, kind), g in null[null["stat"] == MIXING].groupby(["scope", "kind"]):
        v = g["value"].to_numpy(float)
        v = v[np.isfinite(v)]
        if len(v) < 3:  # leave-one-out needs two others
            continue
        k = sum(int(v[i] < prediction_bounds(np.delete(v, i), fpr=fpr)[0]) for i in range(len(v)))
        lo, hi = clopper_pearson(k, len(v))
        recs[(scope, kind)] = {"n": len(v), "flagged": k, "rate": k / len(v), "low": lo, "high": hi}
    return pd.DataFrame.from_dict(recs, orient="index")


def detection_limit(power: pd.DataFrame, kind: str) -> dict:
    """The smallest strength detected with at least :data:`POWER` power, per effect.

    Parameters
    ----------
    power
        :func:`power_table` output.
    kind
        Embedding kind.

    Returns
    -------
    dict
        ``{"site": strength, "donor": strength}``; NaN where no tested strength reaches
        :data:`POWER`, None where the effect's scope cannot be scored.
    """
    out = {}
    for effect, _ in EFFECT_SCOPES:
        p = power[(power["effect"] == effect) & (power["kind"] == kind)]
        hit = p.loc[p["power"] >= POWER, "strength"]
        out[effect] = None if p.empty else float(hit.min()) if len(hit) else np.nan
    return out


def limit_sentence(limits: dict, tested: float) -> str:
    """``detection limit at 80% power: site effect X, donor effect Y``, or the ceiling where none is reached.

    An effect that was not simulated here (a file without sites) is left out of the sentence.

    Parameters
    ----------
    limits
        :func:`detection_limit` output.
    tested
        The largest strength simulated.

    Returns
    -------
    str
    """
    def one(v):
        if not np.isfinite(v):
            return f"not reached up to {tested:g}, the largest tested"
        return f"{v:g}, the largest tested" if v == tested else f"{v:g}"
    said = [f"{e} effect {one(v)}" for e, v in limits.items() if v is not None]  # None: not simulated here
    if not said:
        return f"detection limit at {POWER:.0%} power: none measurable here"
    return f"detection limit at {POWER:.0%} power: {', '.join(said)}"


def power_at(power: pd.DataFrame, *, effect: str, kind: str, strength: float) -> pd.Series | None:
    """One row of :func:`power_table`, or None where that strength was not simulated for that kind.

    Parameters
    ----------
    power
        :func:`power_table` output.
    effect, kind, strength
        The row.

    Returns
    -------
    pandas.Series or None
    """
    p = power[(power["effect"] == effect) & (power["kind"] == kind) & np.isclose(power["strength"], strength)]
    return None if p.empty else p.iloc[0]


def power_clause(row: pd.Series | None, *, what: str) -> str:
    """``"PCA detects a site effect of 0.4 in 5 of 5 simulations (power 100%, 95% CI 48-100%)"``.

    Parameters
    ----------
    row
        :func:`power_at` output.
    what
        Subject and effect, e.g. ``"PCA detects a site effect of 0.4"``.

    Returns
    -------
    str
    """
    if row is None:
        return f"{what}: not simulated here"
    return (f"{what} in {row['detected']:.0f} of {row['n']:.0f} simulations (power {row['power']:.0%}, "
            f"95% CI {row['low']:.0%}-{row['high']:.0%})")
