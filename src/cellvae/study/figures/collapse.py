"""Collapse as a profile: the KL each latent dimension holds, largest first."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from .plots import WIDTH, _styled

#: KL drawn at this floor when smaller (nats per cell), so that a log axis shows every dimension.
KL_FLOOR = 1e-4


@_styled
def kl_profiles(profiles: dict[str, pd.DataFrame]):
    """One panel per dataset: each architecture's per-dimension KL against its rank, log scale.

    Parameters
    ----------
    profiles
        Panel title -> :func:`~cellvae.study.calls.latent_kl.kl_profile` output.
    """
    fig, axes = plt.subplots(1, len(profiles), figsize=(WIDTH, 3.8), sharey=True, squeeze=False)
    models = sorted({m for prof in profiles.values() for m in prof["model"]})
    colour = {m: f"C{i}" for i, m in enumerate(models)}  # one architecture, one colour, in every panel
    for ax, (title, prof) in zip(axes[0], profiles.items()):
        for model, p in prof.groupby("model", sort=True):
            ax.plot(p["rank"], np.maximum(p["KL"].to_numpy(float), KL_FLOOR), marker="o", ms=3, lw=1.2,
                    color=colour[model])
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_title(title)
        ax.set_xlabel("latent dimension, by its KL (rank)")
        ax.axhline(KL_FLOOR, color="0.6", lw=0.8, ls=":")
    axes[0][0].set_ylabel("KL (nats per cell)")
    handles = [plt.Line2D([], [], color=colour[m], marker="o", ms=3, lw=1.2) for m in models]
    fig.legend(handles, models, title="architecture", loc="outside right center", frameon=False)
    return fig
