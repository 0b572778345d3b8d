"""The EDA chapter's tables and sentences, computed from the data."""

from __future__ import annotations

import numpy as np

from cellvae.study.chapters import eda


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
