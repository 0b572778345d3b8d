"""Figures of the batch evidence: the dose-response curve with its null bands, and the power curves."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from ..calls.controls import EFFECT_SCOPES
from ..scoring.integration import MIXING
from .plots import WIDTH, _styled

_COLOURS = {"PCA": "#4c72b0", "NB VAE": "#dd8452", "Harmony": "#55a868"}


@_styled
def dose_response(dose: pd.DataFrame, thr: pd.DataFrame, data: dict[str, dict[str, float]],
                  labels: dict[str, str]):
    """Batch mixing against the true effect strength, one panel per effect, with null bands.

    Each strength's simulations are drawn as their mean ± s.d.

    Parameters
    ----------
    dose
        :func:`~cellvae.study.calls.calibration.dose_table` output.
    thr
        :func:`~cellvae.study.calls.calibration.thresholds` output.
    data
        ``{scope: {kind: score}}``: the book data's own scores, drawn as dotted lines.
    labels
        Scope -> readable name, for the panel titles.
    """
    shown = [(e, sc) for e, sc in EFFECT_SCOPES if (dose["effect"] == e).any()] or list(EFFECT_SCOPES)
    fig, axes = plt.subplots(1, len(shown), figsize=(WIDTH, 4.0), sharey=True, squeeze=False)  # an effect not
    axes = axes[0]  # simulated here (a file without sites) gets no panel
    ticks = sorted(set(dose["strength"]))
    pos = {v: i for i, v in enumerate(ticks)}  # equal spacing: the strengths double from 0.05
    handles = []
    for ax, (effect, scope) in zip(axes, shown):
        for kind, colour in _COLOURS.items():
            d = dose[(dose["effect"] == effect) & (dose["kind"] == kind)].groupby("strength")["mixing"]
            if not len(d):
                continue
            m, sd = d.mean(), d.std().fillna(0.0)
            h = ax.errorbar(m.index.map(pos), m, yerr=sd, fmt="o-", color=colour, capsize=3,
                            label=f"{kind}, simulated (mean ± s.d.)")
            key = (scope, kind, MIXING)
            if key in thr.index:
                m, s, t = thr.loc[key, ["mean", "sd", "threshold"]]
                ax.axhspan(m - s, m + s, color=colour, alpha=0.15, lw=0)
                ax.axhline(t, color=colour, ls="--", lw=1)
            if kind in data.get(scope, {}) and np.isfinite(data[scope][kind]):
                ax.axhline(data[scope][kind], color=colour, ls=":", lw=1.5)
            if ax is axes[0]:
                handles.append(h)
        ax.set_xticks(range(len(ticks)), [f"{v:g}" for v in ticks])
        ax.set_xlabel(f"true {effect} effect strength")
        ax.set_title(labels.get(scope, scope))
    axes[0].set_ylabel("batch mixing (vs shuffled batches; 1 mixed)")
    from matplotlib.lines import Line2D
    handles += [Line2D([], [], color="grey", ls="--", label="null threshold"),
                Line2D([], [], color="grey", ls=":", label="this data")]
    axes[-1].legend(handles=handles, loc="lower left")  # the donor panel's empty corner
    return fig


@_styled
def power_curves(power: pd.DataFrame, labels: dict[str, str], *, target: float):
    """Power against the true effect strength, one panel per effect, with 95% intervals.

    Parameters
    ----------
    power
        :func:`~cellvae.study.calls.power.power_table` output.
    labels
        Scope -> readable name, for the panel titles.
    target
        The power a detection limit needs, drawn as a dashed line.
    """
    shown = [(e, sc) for e, sc in EFFECT_SCOPES if (power["effect"] == e).any()] or list(EFFECT_SCOPES)
    fig, axes = plt.subplots(1, len(shown), figsize=(WIDTH, 3.6), sharey=True, squeeze=False)
    axes = axes[0]
    ticks = sorted(set(power["strength"])) or [0.0]
    pos = {v: i for i, v in enumerate(ticks)}
    for ax, (effect, scope) in zip(axes, shown):
        for kind, colour in _COLOURS.items():
            p = power[(power["effect"] == effect) & (power["kind"] == kind)].sort_values("strength")
            if p.empty:
                continue
            x = p["strength"].map(pos)
            err = np.vstack([p["power"] - p["low"], p["high"] - p["power"]])
            ax.errorbar(x, p["power"], yerr=err, fmt="o-", color=colour, capsize=3, label=kind)
        ax.axhline(target, color="grey", ls="--", lw=1)
        ax.set_xticks(range(len(ticks)), [f"{v:g}" for v in ticks])
        ax.set_xlabel(f"true {effect} effect strength")
        ax.set_title(labels.get(scope, scope))
        ax.set_ylim(-0.05, 1.05)
    axes[0].set_ylabel("power (share detected)")
    axes[0].legend(loc="upper left")
    return fig


#: Verdict colours (Okabe-Ito, colour-blind safe); any other verdict is grey.
#: Pooled donors kept apart are donor biology, not a failure: blue, not the batch-affected red.
VERDICT_COLOURS = {"well integrated": "#009E73", "donors mixed": "#009E73", "batch-affected": "#D55E00",
                   "donors apart (donor structure kept)": "#0072B2", "no structure": "#CC79A7",
                   "batch-affected, no structure": "#D55E00", "donors apart, no structure": "#CC79A7",
                   "inconclusive": "#E69F00", "refused": "#999999"}


@_styled
def batch_summary(metrics: pd.DataFrame, verdicts: pd.DataFrame):
    """The batch evidence on one figure, scIB style: the metrics by embedding, then each verdict with its interval.

    Parameters
    ----------
    metrics
        Unscaled scores in [0, 1] (1 best), indexed by embedding, in the rows' order.
    verdicts
        Indexed like ``metrics``: ``mixing``, ``low``, ``high``, ``threshold`` and ``verdict``
        (the words shown).
    """
    import seaborn as sns

    n = len(metrics)
    fig = plt.figure(figsize=(WIDTH, 0.42 * n + 2.3))
    left, right = fig.add_gridspec(1, 2, width_ratios=[3.5, 1.5]).subplots()
    vals = metrics.astype(float)
    # two decimals without the leading zero (".88"; "1.0" for 1), so that nine columns fit the panel
    labels = vals.map(lambda v: "" if not np.isfinite(v) else "1.0" if v >= 0.995 else f"{v:.2f}".lstrip("0"))
    sns.heatmap(vals, ax=left, annot=labels.to_numpy(), fmt="", vmin=0, vmax=1, cmap="mako", cbar=False,
                annot_kws={"fontsize": 9.5})
    left.set_xlabel("metric (unscaled, 1 best)")
    left.set_ylabel("")
    left.tick_params(axis="x", rotation=45)
    left.tick_params(axis="y", rotation=0)
    plt.setp(left.get_xticklabels(), horizontalalignment="right")
    y = np.arange(n) + 0.5
    v = verdicts.loc[metrics.index]
    colours = [VERDICT_COLOURS.get(w, "0.5") for w in v["verdict"]]
    for yi, (_, r), c in zip(y, v.iterrows(), colours):
        if np.isfinite(r["low"]):
            right.plot([r["low"], r["high"]], [yi, yi], color=c, lw=2.5, solid_capstyle="butt")
        right.plot(r["mixing"], yi, "o", color=c, ms=6)
        right.plot(r["threshold"], yi, "|", color="0.2", ms=14, mew=1.6)
    right.set_ylim(n, 0)
    right.set_yticks(y, list(v["verdict"]))
    right.yaxis.tick_right()
    for tick, c in zip(right.get_yticklabels(), colours):
        tick.set_color(c)
    right.set_xlabel("batch mixing (bar: one-sided\nbounds; |: null threshold)")
    right.spines["right"].set_visible(True)
    right.spines["left"].set_visible(False)
    return fig
