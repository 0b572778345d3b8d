"""Figures for the report: seaborn on matplotlib, drawn inside a style context.

Importing this module changes no global matplotlib state: every function draws inside :func:`style`.
Figures are :data:`WIDTH` inches wide at :data:`DPI`, so that at the book's content width (at least
660 px at a 1280-px window) no text is shown below 9 pt (:func:`displayed_points`), and legends sit
outside the data.  Each function returns a Figure with labelled axes.
"""

from __future__ import annotations

import contextlib
import functools

import matplotlib as mpl
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.colors import PowerNorm

from .palette import colours, lineages

#: Figure width in inches and resolution: 7 in x 110 dpi = 770 px, a little over the
#: book's content column, so images are shrunk (never stretched) to fit it.
WIDTH, DPI = 7.0, 110
#: Smallest font in any figure, in points at the figure's own size; most categories with a legend.
FONT, MAX_LEGEND = 10.0, 12
#: The rc settings of every figure (applied with a context, never globally).
RC = {
    "figure.dpi": DPI, "savefig.dpi": "figure", "figure.constrained_layout.use": True,
    "font.size": FONT, "axes.titlesize": FONT + 0.5, "axes.labelsize": FONT + 0.5,
    "xtick.labelsize": FONT, "ytick.labelsize": FONT, "legend.fontsize": FONT,
    "legend.title_fontsize": FONT, "figure.titlesize": FONT + 1, "legend.frameon": False,
}


@contextlib.contextmanager
def style():
    """A context in which figures get the report's look; rcParams are restored on exit.

    Yields
    ------
    None
    """
    with sns.axes_style("ticks", {"axes.spines.top": False, "axes.spines.right": False}), \
            mpl.rc_context(RC):
        yield


def _styled(fn):
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        with style():
            return fn(*args, **kwargs)
    return wrapper


def displayed_points(fig, *, column_px: float = 660.0) -> float:
    """Smallest font size of ``fig``, in points as shown in a column ``column_px`` wide.

    Parameters
    ----------
    fig
        A matplotlib Figure.
    column_px
        Width of the page's content column in CSS pixels.

    Returns
    -------
    float
        The smallest displayed text size in points (1 pt = 4/3 CSS px).
    """
    width_px = fig.get_figwidth() * fig.dpi
    scale = min(1.0, column_px / width_px)
    sizes = [t.get_fontsize() for t in fig.findobj(mpl.text.Text) if t.get_text().strip()]
    return min(sizes) * fig.dpi / 72 * scale * 0.75


def _legend_below(ax, handles=None, *, ncol: int = 2, title: str | None = None) -> None:
    kw = {"handles": handles} if handles is not None else {}
    ax.legend(**kw, loc="upper center", bbox_to_anchor=(0.5, -0.24), ncol=ncol, title=title,
              markerscale=1.5, handletextpad=0.2, columnspacing=0.8)


@_styled
def composition_heatmap(comp: pd.DataFrame, *, group: str = "donor"):
    """Fig 1: cell-type fractions (rows) per donor (columns), a seaborn heatmap.

    Parameters
    ----------
    comp
        Fractions, cell types x donors, as from :func:`cellvae.study.chapters.eda.composition`.
    group
        What a column is: ``"donor"``, or ``"batch"`` on a file that records no donor.
    """
    fig, ax = plt.subplots(figsize=(WIDTH, max(4.0, 0.2 * len(comp) + 1.5)))
    sns.heatmap(comp, ax=ax, cmap="viridis", norm=PowerNorm(0.5), yticklabels=True,
                cbar_kws={"label": f"fraction of the {group}'s cells", "shrink": 0.5})
    ax.set_xlabel(group)
    ax.set_ylabel("cell type (most abundant first)")
    ax.tick_params(axis="x", rotation=45)
    return fig


@_styled
def donor_bars(tab: pd.DataFrame, *, group: str = "donor"):
    """Fig 2: cells and total raw counts per donor.

    Parameters
    ----------
    tab
        :func:`cellvae.study.chapters.eda.donor_counts`: ``cells`` and ``total counts`` per donor.
    group
        What a bar is: ``"donor"``, or ``"batch"`` on a file that records no donor.
    """
    d = tab.reset_index(names=group).assign(counts=lambda t: t["total counts"] / 1e6)
    fig, axes = plt.subplots(1, 2, figsize=(WIDTH, 3.2))
    sns.barplot(d, x=group, y="cells", ax=axes[0], color="tab:blue")
    sns.barplot(d, x=group, y="counts", ax=axes[1], color="tab:orange")
    axes[1].set_ylabel("total raw counts (millions)")
    for ax in axes:
        ax.set_xlabel(group)
        ax.tick_params(axis="x", rotation=60)
    return fig


@_styled
def value_histograms(series: dict[str, np.ndarray], *, bins: int = 60, log_x: bool = True):
    """Histograms of non-zero values, one panel per data variant (Figs 3 and 4).

    Parameters
    ----------
    series
        Variant name -> its non-zero values (:func:`cellvae.study.chapters.eda.nonzero_values`).
    bins, log_x
        Number of bins; whether the value axis is logarithmic (the entries axis always is).
    """
    fig, axes = plt.subplots(1, len(series), figsize=(WIDTH, 3.0), squeeze=False)
    for ax, (name, vals) in zip(axes[0], series.items()):
        v = np.asarray(vals, float)
        v = v[v > 0] if log_x else v
        edges = np.geomspace(v.min(), v.max(), bins + 1) if log_x else np.linspace(v.min(), v.max(), bins + 1)
        counts = np.histogram(v, edges)[0].astype(float)
        # an outline of the bins with entries: no fill to close, no line down to a log axis' zero
        ax.stairs(np.where(counts > 0, counts, np.nan), edges, baseline=None, color="0.25", lw=1.2)
        ax.set_xscale("log" if log_x else "linear")
        ax.set_yscale("log")
        ax.set_xlabel(f"non-zero value ({name})")
        ax.set_ylabel("matrix entries")
        ax.set_title(name)
    return fig


@_styled
def mean_variance_plot(mv: pd.DataFrame, *, phi: float | None = None):
    """Per-gene variance against mean for each variant, with Poisson and NB references on raw.

    Parameters
    ----------
    mv
        Long table from :func:`cellvae.study.chapters.eda.mean_variance`; genes with mean 0 are dropped.
    phi
        NB overdispersion for the ``var = mean + phi mean^2`` line; None omits it.
    """
    variants = list(dict.fromkeys(mv["variant"]))
    ncol = min(2, len(variants))
    nrow = -(-len(variants) // ncol)
    fig, axes = plt.subplots(nrow, ncol, figsize=(WIDTH, 2.9 * nrow + 0.6), squeeze=False)
    for ax, v in zip(axes.ravel(), variants):
        d = mv[(mv["variant"] == v) & (mv["mean"] > 0)].assign(variance=lambda t: t["variance"].clip(lower=1e-6))
        sns.scatterplot(d, x="mean", y="variance", ax=ax, s=6, alpha=0.4, linewidth=0)
        ax.set(xscale="log", yscale="log", xlabel="gene mean", ylabel="gene variance", title=v)
        if v == "raw":
            m = np.geomspace(d["mean"].min(), d["mean"].max(), 50)
            ax.plot(m, m, "k--", lw=1, label="Poisson: var = mean")
            if phi is not None:
                ax.plot(m, m + phi * m**2, "r-", lw=1, label=f"NB: var = mean + {phi:.2f} mean²")
            _legend_below(ax, ncol=1)
    for ax in axes.ravel()[len(variants):]:
        ax.set_visible(False)
    return fig


@_styled
def training_curves(histories: dict[str, dict[str, list[dict]]], *, key: str = "val_elbo", skip: int = 5):
    """Per-epoch validation ELBO of every family, one panel each (each in its own unit).

    Parameters
    ----------
    histories
        Family -> model name -> its per-epoch history records (``RunResult.history``).
    key
        The history field plotted, nats per cell in each family's unit.
    skip
        The y axis is scaled to each run's epochs from this one on, and past its first quarter
        (earlier ones may leave the panel).
    """
    n = len(histories)
    colours = dict(zip(sorted({m for runs in histories.values() for m in runs}), sns.color_palette()))
    fig, axes = plt.subplots((n + 1) // 2, 2, figsize=(WIDTH, 2.6 * ((n + 1) // 2)), squeeze=False)
    for ax, (family, runs) in zip(axes.flat, histories.items()):
        long = pd.concat([pd.DataFrame(h).assign(model=name) for name, h in runs.items()])
        sns.lineplot(long, x="epoch", y=key, hue="model", palette=colours, ax=ax, legend=ax is axes.flat[0])
        # each run's later epochs: past ``skip`` and past its first quarter, where a slow start still falls
        start = np.maximum(skip, 0.25 * long.groupby("model")["epoch"].transform("max"))
        late = long.loc[long["epoch"] >= start, key] if (long["epoch"] >= start).any() else long[key]
        pad = 0.05 * (late.max() - late.min() + 1e-9)  # the first epochs' steep rise would flatten the rest
        ax.set_ylim(late.min() - pad, late.max() + pad)
        ax.set(title=family, xlabel="epoch", ylabel="validation ELBO (nats/cell)")
    for ax in axes.flat[n:]:  # an odd number of families leaves one panel empty
        ax.set_visible(False)
    fig.legend(*axes.flat[0].get_legend_handles_labels(), loc="outside lower center", ncol=5, title="model")
    axes.flat[0].get_legend().remove()
    return fig


def _scatter(ax, xy: np.ndarray, lab, *, point_size: float):
    cats = pd.Categorical(lab)
    palette = colours(len(cats.categories))
    order = np.random.default_rng(0).permutation(len(xy))  # no group is drawn last on top
    cell_colours = np.asarray([mpl.colors.to_rgb(c) for c in palette])[cats.codes[order] % len(palette)]
    ax.scatter(xy[order, 0], xy[order, 1], c=cell_colours, s=point_size, linewidths=0, rasterized=True)
    ax.set_xticks([])
    ax.set_yticks([])
    return [plt.Line2D([], [], marker="o", ls="", color=palette[k], label=c)
            for k, c in enumerate(cats.categories)]


@_styled
def embedding_grid(coords: dict[str, np.ndarray], labels: dict[str, np.ndarray], *, xlabel: str,
                   ylabel: str, max_legend: int = MAX_LEGEND, point_size: float = 2.0):
    """Scatter each embedding (rows) coloured by each label (columns).

    Column titles name the label; the first column's y label names the embedding.  A label
    with at most ``max_legend`` categories gets a legend below its column, outside the data.

    Parameters
    ----------
    coords, labels
        Embedding name -> (n_cells, 2) coordinates; label name -> one label per cell.
    xlabel, ylabel
        Axis labels, e.g. ``"UMAP 1"``.
    max_legend, point_size
        Most categories that get a legend; marker size in points squared.
    """
    labels = {(f"{k} (lineage)" if g is not None else k): (g if g is not None else v) for k, v, g in
              ((k, v, lineages(v) if pd.Series(v).nunique() > max_legend else None) for k, v in labels.items())}
    nr, nc = len(coords), len(labels)
    fig, axes = plt.subplots(nr, nc, figsize=(WIDTH, (WIDTH / nc) * 0.95 * nr + 1.6), squeeze=False)
    for i, (ename, xy) in enumerate(coords.items()):
        for j, (lname, lab) in enumerate(labels.items()):
            ax = axes[i, j]
            handles = _scatter(ax, xy, lab, point_size=point_size)
            ax.set_xlabel(xlabel if i == nr - 1 else "")
            ax.set_ylabel(f"{ename}\n{ylabel}" if j == 0 else "")
            if i == 0:
                ax.set_title(lname)
            if i == nr - 1 and len(handles) <= max_legend:
                _legend_below(ax, handles, ncol=2 if len(handles) > 4 else 1)
    return fig


@_styled
def metric_heatmap(table: pd.DataFrame, *, columns=None):
    """A metric table as an annotated heatmap: rows are embeddings, columns metrics (1 best).

    Parameters
    ----------
    table
        Scores in [0, 1], indexed by embedding.
    columns
        The metric columns shown, in order; None shows all.
    """
    t = table[list(columns)] if columns is not None else table
    fig, ax = plt.subplots(figsize=(WIDTH, 0.45 * len(t) + 2.4))
    sns.heatmap(t.astype(float), ax=ax, annot=True, fmt=".2f", vmin=0, vmax=1, cmap="mako",
                annot_kws={"fontsize": FONT}, cbar_kws={"label": "score (1 best)", "shrink": 0.8})
    ax.set_xlabel("metric")
    ax.set_ylabel("embedding")
    ax.tick_params(axis="x", rotation=35)
    ax.tick_params(axis="y", rotation=0)
    plt.setp(ax.get_xticklabels(), horizontalalignment="right")
    return fig


@_styled
def beta_tradeoff(tab: pd.DataFrame):
    """Reconstruction and KL (nats per cell) and active units against beta.

    Parameters
    ----------
    tab
        :func:`cellvae.study.runner.tables.results_table` of a beta sweep.
    """
    long = tab.melt(id_vars="beta", value_vars=["test recon", "test KL"], var_name="term")
    long["term"] = long["term"].map({"test recon": "reconstruction", "test KL": "KL"})
    fig, axes = plt.subplots(1, 2, figsize=(WIDTH, 3.2))
    sns.lineplot(long, x="beta", y="value", hue="term", style="term", markers=True, ax=axes[0])
    axes[0].set_ylabel("nats per cell")
    _legend_below(axes[0], ncol=2)
    sns.lineplot(tab, x="beta", y="active units", marker="o", color="tab:red", ax=axes[1])
    betas = sorted(tab["beta"].unique())
    for ax in axes:
        ax.set_xscale("log")
        ax.minorticks_off()
        ax.set_xticks(betas, [f"{b:g}" for b in betas])
        ax.set_xlabel("beta (KL weight)")
    return fig
