"""The exploration chapter's numbers follow their inputs."""

from __future__ import annotations

import anndata as ad
import numpy as np
import pandas as pd

from cellvae.study.chapters import eda_glue


def test_composition_glue_counts_the_rare_types():
    comp = pd.DataFrame({"d1": [0.9, 0.097, 0.003], "d2": [0.9, 0.098, 0.002]}, index=["T", "B", "pDC"])
    g = eda_glue.composition_glue(comp)
    assert (g["most_common_type"], g["most_common_share"], g["rare_types"]) == ("T", "90%", "1 type makes")
    assert eda_glue.composition_glue(comp, rare_share=0.1)["rare_types"] == "2 types make"


def test_design_glue_counts_the_split(sim):
    g = eda_glue.design_glue(sim)
    n_test = int((sim.obs["split"] == "test").sum())
    assert g["n_test"] == f"{n_test:,}" and g["n_donors"] == sim.obs["DonorNumber"].nunique()


def test_count_values_cut_at_the_quantile_it_names(sim):
    v = eda_glue.CountValues(sim, q_keep=0.9)
    assert (v.filtered["raw"] <= v.cuts["raw"]).all() and len(v.filtered["raw"]) < len(v.nonzero["raw"])
    assert v.glue()["top_removed"] == "10.0%"


def test_overdispersion_flags_genes_above_the_factor(sim):
    _, _, g = eda_glue.overdispersion(sim, od_factor=1e9)
    assert g["overdispersed"] == "0%"


def test_matched_batches_keeps_only_shared_batches():
    sim = ad.AnnData(np.zeros((3, 1)), obs=pd.DataFrame({"batch": ["a", "b", "c"]}, index=list("xyz")))
    real = ad.AnnData(np.zeros((1, 1)), obs=pd.DataFrame({"batch": ["b"]}, index=["r"]))
    assert list(eda_glue.matched_batches(sim, real).obs_names) == ["y"]


def test_fidelity_role_says_what_the_simulator_feeds_on_each_kind_of_data():
    from cellvae.study.chapters.eda_glue import fidelity_role

    sim = ad.AnnData(obs=pd.DataFrame({"cell_type": ["x"]}, index=["c0"]), uns={"simulation": {}})
    assert "every chapter's numbers but the real cells chapter's rest on it" in fidelity_role(sim)
    bmmc = ad.AnnData(obs=pd.DataFrame({"cell_type": ["CD14+ Mono", "NK"]}, index=["c0", "c1"]))
    assert "feeds no verdict" in fidelity_role(bmmc) and "BMMC cells like this file's" in fidelity_role(bmmc)
    pbmc = ad.AnnData(obs=pd.DataFrame({"cell_type": ["CD4 T", "B"]}, index=["c0", "c1"]))
    assert "not this file's tissue" in fidelity_role(pbmc)
