"""Figures are labelled, readable at page width, and leave matplotlib's global state alone."""

from __future__ import annotations

import numpy as np

from cellvae.study.chapters import eda


def _all_figures(sim):
    import pandas as pd

    from cellvae.study.figures import plots

    rng = np.random.default_rng(0)
    xy = rng.normal(size=(sim.n_obs, 2))
    hist = [{"epoch": e, "val_elbo": -100.0 + e} for e in range(4)]
    scores = pd.DataFrame(rng.uniform(size=(3, 4)), index=["PCA", "M1 NB", "M1 NB +batch"],
                          columns=["batch correction", "bio conservation", "total", "iLISI"])
    sweep = pd.DataFrame({"beta": [0.5, 1.0, 4.0], "test recon": [10.0, 11, 14], "test KL": [5.0, 4, 1],
                          "active units": [8, 7, 2]})
    return {
        "composition": plots.composition_heatmap(eda.composition(sim)),
        "donors": plots.donor_bars(eda.donor_counts(sim)),
        "hist": plots.value_histograms({"raw": eda.nonzero_values(sim, "raw"),
                                        "preprocessed": eda.nonzero_values(sim, "preprocessed")}),
        "meanvar": plots.mean_variance_plot(eda.mean_variance(sim), phi=0.5),
        "curves": plots.training_curves({"nb/raw": {"M1": hist, "M2": hist}, "original": {"M1": hist}}),
        "grid": plots.embedding_grid({"PCA": xy, "NB": xy}, {k: sim.obs[k].to_numpy() for k in
                                     ("DonorNumber", "Site", "batch")}, xlabel="UMAP 1", ylabel="UMAP 2"),
        "heatmap": plots.metric_heatmap(scores),
        "beta": plots.beta_tradeoff(sweep),
    }


def test_figures_are_labelled_and_readable_at_page_width(sim):
    import matplotlib

    matplotlib.use("Agg")
    from cellvae.study.figures import plots

    for name, fig in _all_figures(sim).items():
        for ax in fig.axes:
            if ax.get_label() == "<colorbar>" or not ax.get_visible():
                continue
            assert ax.get_xlabel() or ax.get_title(), name
        assert plots.displayed_points(fig) >= 9.0, name
        assert fig.get_figwidth() * fig.dpi >= 680, f"{name} would be stretched to the column"
        matplotlib.pyplot.close(fig)


def test_displayed_points_flags_small_text():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from cellvae.study.figures import plots

    fig, ax = plt.subplots(figsize=(14, 3), dpi=110)
    ax.set_xlabel("tiny", fontsize=8)
    assert plots.displayed_points(fig) < 9.0
    plt.close(fig)


def test_importing_and_plotting_leave_global_matplotlib_state_alone(sim):
    import matplotlib

    matplotlib.use("Agg")
    before = dict(matplotlib.rcParams)
    import cellvae.study.figures.plots  # noqa: F401

    assert dict(matplotlib.rcParams) == before
    figs = _all_figures(sim)
    assert dict(matplotlib.rcParams) == before
    for f in figs.values():
        matplotlib.pyplot.close(f)
