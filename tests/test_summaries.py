"""Sentences are computed from results: different numbers give different words."""

from __future__ import annotations

import numpy as np
import pandas as pd

from cellvae.study.calls import collapse
from cellvae.study.chapters import eda


def _orig_table(m1_kl=0.01, elbo_kl=9.0, gd_kl=0.02, recon=(2000.0, 2001.0)):
    return pd.DataFrame({
        "family": ["original"] * 2 + ["nb/raw"] * 2 + ["fixed-variance/ELBO"] * 2 + ["original/preprocessed"],
        "model": ["M1", "M2", "M1", "M2", "M1", "M1", "M1"],
        "latent": [10, 50, 10, 50, 10, 10, 10],
        "beta": [1.0, 1.0, 1.0, 1.0, 1.0, 200.0, 1.0],
        "test recon": [recon[0], recon[1], 700.0, 690.0, 1500.0, 2000.0, 9000.0],
        "test KL": [m1_kl, 0.02, 13.0, 14.0, elbo_kl, gd_kl, 20.0],
        "active units": [0 if m1_kl < 0.5 else 9, 0, 10, 48, 0 if elbo_kl < 0.5 else 10, 0 if gd_kl < 0.5 else 9,
                         10],
    })


def test_collapse_summary_reads_table():
    s = collapse.collapse_summary(_orig_table(), 2000)
    assert s["orig_collapsed"] == "2 of 2" and "at most 0 active latent units" in s["orig_collapse_detail"]
    assert s["nb_au_range"] == "10 to 48"
    assert "at beta = G/d = 200, the KL weight that averaging implies, M1 collapses" in s["ablations"]
    assert "with the summed ELBO with the same fixed-variance decoder on log data, M1 does not collapse" in s["ablations"]
    assert "not the fixed-variance decoder, causes the collapse" in s["ablations"]
    s = collapse.collapse_summary(_orig_table(m1_kl=5.0), 2000)
    assert s["orig_collapsed"] == "1 of 2" and "the equivalence does not hold" in s["ablations"]
    assert "differ by only" in s["orig_reading"] and "only the KL and the active units" in s["orig_reading"]
    s = collapse.collapse_summary(_orig_table(m1_kl=5.0, recon=(2000.0, 2600.0)), 2000)
    assert "so the models are not all alike" in s["orig_reading"]


def test_ablation_reading_flips_with_each_run():
    r = collapse.ablation_reading
    assert r(None, True, True) == "" and r(True, True, None) == ""
    assert "not the fixed-variance decoder, causes the collapse" in r(True, False, True)
    assert "collapses even at the ELBO's weight" in r(True, True, True)
    assert "keeps latent units as the averaged loss does" in r(False, False, False)
    assert "does not hold" in r(True, False, False) and "does not hold" in r(False, False, True)


def test_averaging_reading_flips_with_each_run():
    r = collapse.averaging_reading
    assert r(True, None, False) == "" and r(True, True, None) == ""
    assert r(False, True, False) == "" and r(None, True, False) == ""  # no collapse to explain
    assert "the 1/G on the reconstruction, not the 1/d on the KL, causes it" in r(True, True, False)
    assert "against the account" in r(True, False, True)
    assert "Either average alone" in r(True, True, True) and "Neither average alone" in r(True, False, False)
    t = pd.concat([_orig_table(), pd.DataFrame({
        "family": ["recon-averaged", "KL-averaged"], "model": ["M1", "M1"], "latent": [10, 10], "beta": [1.0, 1.0],
        "test recon": [2000.0, 1400.0], "test KL": [0.01, 12.0], "active units": [0, 10]})], ignore_index=True)
    s = collapse.collapse_summary(t, 2000)["ablations"]
    assert "with only the reconstruction averaged over genes (beta_eff = G), M1 collapses" in s
    assert "with only the KL averaged over latent dimensions (beta_eff = 1/d), M1 does not collapse" in s
    assert s.endswith("not the 1/d on the KL, causes it.")


def test_overdispersion_reading_flips():
    assert "overdispersed relative to Poisson" in eda.overdispersion_reading(0.8)
    assert "close to Poisson" in eda.overdispersion_reading(0.01)


def test_eda_tables(sim):
    d = eda.design_table(sim)
    assert d.loc["total", "total"] == sim.n_obs
    b = eda.batch_table(sim)
    assert len(b) == 12 and b["cells"].sum() == sim.n_obs
    comp = eda.composition(sim)
    np.testing.assert_allclose(comp.sum(0), 1.0)
    v = eda.value_summary(sim)
    assert v.loc["raw", "min"] == 0 and v.loc["processed", "max"] < v.loc["raw", "max"]
    assert 0.5 < v.loc["raw", "zero fraction"] < 1
    kept, cut = eda.quantile_filter(np.arange(1000.0), q=0.9)
    assert kept.max() <= cut < 1000
    mv = eda.mean_variance(sim, variants=("raw", "pearson"))
    raw = mv[mv["variant"] == "raw"]
    phi = eda.fit_nb_overdispersion(raw["mean"].to_numpy(), raw["variance"].to_numpy())
    assert phi > 0  # simulated NB counts are overdispersed


def test_blockwise_eda_summaries_equal_the_whole_matrix(sim, monkeypatch):
    from cellvae.data import get_variant, preprocess

    monkeypatch.setattr(preprocess, "PEARSON_CHUNK", 97)  # many blocks, a ragged last one
    monkeypatch.setattr(preprocess.variant_blocks, "__kwdefaults__", {"chunk_size": 97})
    v, mv = eda.value_summary(sim), eda.mean_variance(sim, variants=("raw", "preprocessed", "processed"))
    for name in ("raw", "preprocessed", "processed"):
        x = get_variant(sim, name).toarray().astype(np.float64)
        np.testing.assert_allclose(v.loc[name, ["min", "max", "mean", "zero fraction"]].to_numpy(float),
                                   [x.min(), x.max(), x.mean(), (x == 0).mean()], rtol=1e-6)
        m = mv[mv["variant"] == name]
        np.testing.assert_allclose(m["mean"], x.mean(0), rtol=1e-5, atol=1e-9)
        np.testing.assert_allclose(m["variance"], x.var(0), rtol=1e-4, atol=1e-7)
        np.testing.assert_array_equal(np.sort(eda.nonzero_values(sim, name)), np.sort(get_variant(sim, name).data))


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
        "bars": plots.metric_bars(scores),
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


def test_design_sentence_follows_the_design():
    import pandas as pd

    from cellvae.study.chapters.eda import design_sentence

    def design(counts, sites):
        tab = pd.DataFrame(counts, index=[f"donor{i + 1}" for i in range(len(counts))], columns=sites)
        tab["total"] = tab.sum(axis=1)
        tab.loc["total"] = tab.sum()
        return tab

    assert design_sentence(design([[311], [289]], ["site1"])).startswith("All cells come from one site")
    assert "fully confounded" in design_sentence(design([[10, 0], [0, 20]], ["site1", "site2"]))
    assert "crossed" in design_sentence(design([[10, 5], [30, 40]], ["site1", "site2"]))
    shared = design_sentence(design([[10, 0], [30, 40], [0, 20]], ["site1", "site2"]))
    assert shared.startswith("Donor donor2 was sampled at 2 sites and contributes 70% of the cells")


def test_collapse_reading_follows_the_numbers():
    assert "each has collapsed" in collapse.collapse_reading(5, 5, 0.001)
    assert "still differ by 5.0%" in collapse.collapse_reading(5, 5, 0.05)
    assert "2 of 5 models have collapsed" in collapse.collapse_reading(2, 5, 0.001)
    assert "No model has collapsed" in collapse.collapse_reading(0, 5, 0.2)
