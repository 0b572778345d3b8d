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
    fig, axes = plt.subplots(1, 2, figsize=(WIDTH, 4.0), sharey=True)
    ticks = sorted(set(dose["strength"]))
    pos = {v: i for i, v in enumerate(ticks)}  # equal spacing: the strengths double from 0.05
    handles = []
    for ax, (effect, scope) in zip(axes, EFFECT_SCOPES):
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
    axes[1].legend(handles=handles, loc="lower left")  # the donor panel's empty corner
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
    fig, axes = plt.subplots(1, 2, figsize=(WIDTH, 3.6), sharey=True)
    ticks = sorted(set(power["strength"])) or [0.0]
    pos = {v: i for i, v in enumerate(ticks)}
    for ax, (effect, scope) in zip(axes, EFFECT_SCOPES):
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
