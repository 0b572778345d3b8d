"""Collapse readings are computed from results: different numbers give different words."""

from __future__ import annotations

import pandas as pd

from cellvae.study.calls import collapse


def test_beta_summary_finds_collapse(monkeypatch):
    import pandas as pd

    tab = pd.DataFrame({"beta": [0.25, 1.0, 4.0, 16.0], "active units": [10, 10, 6, 1]})
    s = collapse.beta_summary(tab)
    assert s["au_beta1"] == 10 and s["collapse_beta"] == "starts at beta = 16" and s["au_beta_max"] == 1
    monkeypatch.setattr(collapse, "SWEEP_COLLAPSE_SHARE", 0.7)  # 6 of 10 units is now a collapse
    assert collapse.beta_summary(tab)["collapse_beta"] == "starts at beta = 4"
    monkeypatch.setattr(collapse, "SWEEP_COLLAPSE_SHARE", 0.05)  # 1 of 10 is not below 0.5: none
    assert collapse.beta_summary(tab)["collapse_beta"] == "happens at none of the betas tried (up to 16)"


def test_mc_agreement_flips_with_the_gap():
    assert "within 1.0 Monte Carlo" in collapse.mc_agreement([1.0, 2.0], [1.1, 2.0], [0.1, 0.1])
    assert "more than sampling noise" in collapse.mc_agreement([1.0, 2.0], [1.5, 2.0], [0.1, 0.1])


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
    assert s["orig_collapsed"] == "2 of 2" and "no active latent units" in s["orig_collapse_detail"]
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


def test_collapse_reading_follows_the_numbers():
    assert "each has collapsed" in collapse.collapse_reading(5, 5, 0.001)
    assert "still differ by 5.0%" in collapse.collapse_reading(5, 5, 0.05)
    assert "2 of 5 models have collapsed" in collapse.collapse_reading(2, 5, 0.001)
    assert "No model has collapsed" in collapse.collapse_reading(0, 5, 0.2)
