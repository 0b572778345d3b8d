"""Figures for the report; each returns a matplotlib Figure with labelled axes."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

plt.rcParams.update({"figure.dpi": 110, "savefig.bbox": "tight", "axes.spines.top": False,
                     "axes.spines.right": False})


def composition_heatmap(comp: pd.DataFrame):
    """Fig 1: cell-type fractions (rows) per donor (columns)."""
    fig, ax = plt.subplots(figsize=(7, 10))
    from matplotlib.colors import PowerNorm

    im = ax.imshow(comp.to_numpy(), aspect="auto", cmap="viridis", norm=PowerNorm(0.5))
    ax.set_xticks(range(comp.shape[1]), comp.columns, rotation=45, ha="right")
    ax.set_yticks(range(comp.shape[0]), comp.index, fontsize=7)
    ax.set_xlabel("donor")
    ax.set_ylabel("cell type (most abundant first)")
    fig.colorbar(im, ax=ax, label="fraction of the donor's cells", shrink=0.5)
    return fig


def donor_bars(tab: pd.DataFrame):
    """Fig 2: cells and total raw counts per donor."""
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.5))
    axes[0].bar(tab.index, tab["cells"], color="tab:blue")
    axes[0].set_ylabel("cells")
    axes[1].bar(tab.index, tab["total counts"] / 1e6, color="tab:orange")
    axes[1].set_ylabel("total raw counts (millions)")
    for ax in axes:
        ax.set_xlabel("donor")
        ax.tick_params(axis="x", rotation=45)
    return fig


def value_histograms(series: dict[str, np.ndarray], *, bins: int = 80, log_x: bool = True):
    """Histograms of non-zero values, one panel per data variant (Figs 3 and 4)."""
    fig, axes = plt.subplots(1, len(series), figsize=(4.5 * len(series), 3.5))
    for ax, (name, vals) in zip(np.atleast_1d(axes), series.items()):
        edges = np.geomspace(max(vals.min(), 1e-3), vals.max(), bins) if log_x else bins
        ax.hist(vals, bins=edges, color="tab:gray")
        ax.set_yscale("log")
        if log_x:
            ax.set_xscale("log")
        ax.set_xlabel(f"non-zero value ({name})")
        ax.set_ylabel("matrix entries")
        ax.set_title(name)
    return fig


def mean_variance_plot(mv: pd.DataFrame, *, phi: float | None = None):
    """Per-gene variance against mean for each variant, with Poisson and NB references on raw."""
    variants = list(dict.fromkeys(mv["variant"]))
    fig, axes = plt.subplots(1, len(variants), figsize=(4 * len(variants), 3.6))
    for ax, v in zip(np.atleast_1d(axes), variants):
        d = mv[(mv["variant"] == v) & (mv["mean"] > 0)]
        ax.scatter(d["mean"], d["variance"].clip(lower=1e-6), s=3, alpha=0.4)
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("gene mean")
        ax.set_ylabel("gene variance")
        ax.set_title(v)
        if v == "raw":
            m = np.geomspace(d["mean"].min(), d["mean"].max(), 50)
            ax.plot(m, m, "k--", lw=1, label="Poisson: var = mean")
            if phi is not None:
                ax.plot(m, m + phi * m**2, "r-", lw=1, label=f"NB: var = mean + {phi:.2f} mean²")
            ax.legend(fontsize=7)
    return fig


def training_curves(histories: dict[str, list[dict]], *, key: str = "val_elbo"):
    """Per-epoch validation ELBO (nats per cell) of several runs."""
    fig, ax = plt.subplots(figsize=(6, 3.8))
    for name, hist in histories.items():
        h = pd.DataFrame(hist)
        ax.plot(h["epoch"], h[key], label=name)
    ax.set_xlabel("epoch")
    ax.set_ylabel(key.replace("_", " ") + " (nats per cell)")
    ax.legend(fontsize=7, ncol=2)
    return fig


def embedding_grid(coords: dict[str, np.ndarray], labels: dict[str, np.ndarray], *, xlabel: str,
                   ylabel: str, max_legend: int = 12, point_size: float = 2.0):
    """Scatter each embedding (rows) coloured by each label (columns)."""
    nr, nc = len(coords), len(labels)
    fig, axes = plt.subplots(nr, nc, figsize=(4.2 * nc, 3.8 * nr), squeeze=False)
    for i, (ename, xy) in enumerate(coords.items()):
        for j, (lname, lab) in enumerate(labels.items()):
            ax = axes[i, j]
            cats = pd.Categorical(lab)
            cmap = plt.get_cmap("tab20" if len(cats.categories) > 10 else "tab10")
            order = np.random.default_rng(0).permutation(len(xy))  # no group is drawn last on top
            colors = cmap(cats.codes[order] % cmap.N)
            ax.scatter(xy[order, 0], xy[order, 1], c=colors, s=point_size, linewidths=0)
            ax.set_xlabel(xlabel)
            ax.set_ylabel(ylabel)
            ax.set_title(f"{ename}: {lname}", fontsize=9)
            ax.set_xticks([])
            ax.set_yticks([])
            if len(cats.categories) <= max_legend:
                handles = [plt.Line2D([], [], marker="o", ls="", color=cmap(k % cmap.N), label=c)
                           for k, c in enumerate(cats.categories)]
                ax.legend(handles=handles, fontsize=6, markerscale=0.8, loc="best", frameon=False)
    fig.tight_layout()
    return fig


def metric_bars(table: pd.DataFrame, *, columns=("batch correction", "bio conservation", "total")):
    """Grouped bars of aggregate scIB scores per embedding."""
    fig, ax = plt.subplots(figsize=(7.5, 3.8))
    w = 0.8 / len(columns)
    x = np.arange(len(table))
    for k, col in enumerate(columns):
        ax.bar(x + k * w, table[col], width=w, label=col)
    ax.set_xticks(x + w * (len(columns) - 1) / 2, table.index, rotation=30, ha="right")
    ax.set_ylabel("score (0 worst, 1 best)")
    ax.set_xlabel("embedding")
    ax.set_ylim(0, 1)
    ax.legend(fontsize=8)
    return fig


def beta_tradeoff(tab: pd.DataFrame):
    """Reconstruction and KL (nats per cell) and active units against beta."""
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.5))
    axes[0].plot(tab["beta"], tab["test recon"], "o-", label="reconstruction")
    axes[0].plot(tab["beta"], tab["test KL"], "s-", label="KL")
    axes[0].set_ylabel("nats per cell")
    axes[0].legend(fontsize=8)
    axes[1].plot(tab["beta"], tab["active units"], "o-", color="tab:red")
    axes[1].set_ylabel("active units")
    for ax in axes:
        ax.set_xscale("log")
        ax.set_xlabel("beta (KL weight)")
    return fig
