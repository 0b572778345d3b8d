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
    fig, axes = plt.subplots(1, len(profiles), figsize=(WIDTH, 3.4), sharey=True, squeeze=False)
    for ax, (title, prof) in zip(axes[0], profiles.items()):
        for i, (model, p) in enumerate(prof.groupby("model", sort=True)):
            ax.plot(p["rank"], np.maximum(p["KL"].to_numpy(float), KL_FLOOR), marker="o", ms=3, lw=1.2,
                    color=f"C{i}", label=model)
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_title(title)
        ax.set_xlabel("latent dimension, by its KL (rank)")
        ax.axhline(KL_FLOOR, color="0.6", lw=0.8, ls=":")
    axes[0][0].set_ylabel("KL (nats per cell)")
    axes[0][-1].legend(title="architecture", frameon=False, fontsize="small")
    return fig
