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


def test_the_batch_summary_and_kl_profiles_read_at_page_width():
    import matplotlib
    import pandas as pd

    matplotlib.use("Agg")
    from cellvae.study.figures import plots
    from cellvae.study.figures.batch import VERDICT_COLOURS, batch_summary
    from cellvae.study.figures.collapse import kl_profiles

    rows = ["PCA", "Harmony", "our NB", "random embedding"]
    metrics = pd.DataFrame(np.linspace(0, 1, 36).reshape(4, 9), index=rows, columns=[f"m{i}" for i in range(9)])
    verdicts = pd.DataFrame({"mixing": [0.8, 0.99, 0.7, 1.0], "low": [0.78, 0.98, 0.68, np.nan],
                             "high": [0.82, 1.0, 0.72, np.nan], "threshold": 0.95,
                             "verdict": ["batch-affected", "well integrated", "inconclusive", "no structure"]},
                            index=rows)
    fig = batch_summary(metrics, verdicts)
    right = fig.axes[1]
    assert [t.get_text() for t in right.get_yticklabels()] == list(verdicts["verdict"])
    assert right.get_yticklabels()[1].get_color() == VERDICT_COLOURS["well integrated"]
    prof = pd.DataFrame({"model": ["M1"] * 3, "rank": [1, 2, 3], "KL": [3.0, 0.1, 0.01]})
    for name, f in {"summary": fig, "kl": kl_profiles({"real": prof, "simulated": prof})}.items():
        assert plots.displayed_points(f) >= 9.0, name
        assert f.get_figwidth() * f.dpi >= 680, name
        matplotlib.pyplot.close(f)


def test_many_bmmc_cell_types_are_drawn_by_lineage_with_a_legend_in_colour_blind_safe_colours():
    import matplotlib

    matplotlib.use("Agg")
    from cellvae.data.calibration import CELL_TYPES
    from cellvae.study.figures import plots
    from cellvae.study.figures.palette import OKABE_ITO, TOL_12, colours, lineages

    assert colours(3) == list(OKABE_ITO[:3]) and colours(12) == list(TOL_12) and len(colours(20)) == 20
    types = np.array(list(CELL_TYPES) * 3)
    groups = lineages(types)
    assert len(set(groups)) == 8 and "other" not in set(groups)
    assert lineages(np.array(["my T", "my B"] * 10)) is None  # another tissue's names: not grouped
    xy = np.random.default_rng(0).normal(size=(len(types), 2))
    fig = plots.embedding_grid({"PCA": xy}, {"cell type": types}, xlabel="UMAP 1", ylabel="UMAP 2")
    ax = fig.axes[0]
    assert ax.get_title() == "cell type (lineage)" and ax.get_legend() is not None
    assert len(ax.get_legend().get_texts()) == 8


def test_histograms_draw_outlines_without_fills():
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.collections import PolyCollection

    from cellvae.study.figures import plots

    vals = np.random.default_rng(0).lognormal(size=5000)
    fig = plots.value_histograms({"raw": vals, "log": np.log1p(vals)})
    for ax in fig.axes:
        assert not [c for c in ax.collections if isinstance(c, PolyCollection)]  # no filled wedges
        assert ax.get_yscale() == "log" and len(ax.patches) == 1  # one outline of stairs


def test_the_legend_note_says_how_the_cell_types_are_shown():
    from cellvae.data.calibration import CELL_TYPES
    from cellvae.study.book.glue import legend_note

    assert legend_note(["a", "b", "a"]) == "2 types, legend below"
    assert legend_note(list(CELL_TYPES)) == f"{len(CELL_TYPES)} types grouped into 8 lineages, legend below"
    assert "too many for a legend" in legend_note([f"t{i}" for i in range(20)])


def test_an_effect_not_simulated_here_gets_no_panel():
    import matplotlib
    import pandas as pd

    matplotlib.use("Agg")
    from cellvae.study.figures.batch import dose_response, power_curves

    dose = pd.DataFrame({"effect": "donor", "kind": "PCA", "strength": [0.1, 0.2, 0.4], "mixing": [0.99, 0.9, 0.8]})
    thr = pd.DataFrame(columns=["mean", "sd", "threshold"])
    fig = dose_response(dose, thr, {}, {})
    assert len(fig.axes) == 1 and "donor" in fig.axes[0].get_xlabel()
    power = pd.DataFrame({"effect": "donor", "kind": "PCA", "strength": [0.1, 0.2], "power": [0.2, 0.8],
                          "low": [0.0, 0.3], "high": [0.7, 1.0]})
    assert len(power_curves(power, {}, target=0.8).axes) == 1
