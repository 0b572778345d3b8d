"""The raw-count Gaussian reproduction: what happened is read from the runs, never typed."""

from __future__ import annotations

import numpy as np
import pytest

from cellvae.data import get_variant
from cellvae.study.calls import raw_gaussians
from cellvae.study.runner.cache import RunResult


def test_specs_cover_both_decoders_and_losses_with_and_without_clipping():
    specs = raw_gaussians.raw_gaussian_specs()
    fams = ["gaussian/raw", "gaussian-averaged/raw", "fixed-variance/raw", "original/raw"]
    assert [(s.family, s.train.grad_clip > 0) for s in specs] == [(f, c) for c in (True, False) for f in fams]
    assert {(s.model.likelihood, s.model.reduction) for s in specs} == {
        (lik, red) for lik in ("gaussian", "gaussian_fixed") for red in ("sum", "mean")}
    assert all(s.variant == "raw" for s in specs)


def test_sentence_says_whether_a_trained_run_collapsed():
    specs = raw_gaussians.raw_gaussian_specs()
    ok = {"status": "ok", "test_elbo": -1e3, "epochs": 20}
    tab = raw_gaussians.raw_table([RunResult(specs[0], {**ok, "test_kl": 0.1, "active_units": 0}),
                              RunResult(specs[1], {**ok, "test_kl": 18.0, "active_units": 7})])
    text = raw_gaussians.raw_sentence(tab, baseline=-2e3)
    assert "2 runs of 2 trained without diverging" in text and "1 of 2 collapsed" in text
    assert "0 to 7 active units" in text and "(all of them above that baseline)" in text
    assert text.count("trained without diverging") == 1  # one summary, not a clause per run


def test_sentence_reports_divergence_and_compares_with_the_baseline():
    specs = raw_gaussians.raw_gaussian_specs()
    res = [RunResult(specs[0], {"status": "gaussian likelihood diverged (non-finite loss) at epoch 3"}),
           RunResult(specs[1], {"status": "ok", "test_elbo": -1e6, "test_kl": 18.0, "active_units": 10, "epochs": 20})]
    tab = raw_gaussians.raw_table(res)
    assert list(tab["outcome"]) == ["diverged", "trained"]
    text = raw_gaussians.raw_sentence(tab, baseline=-190.0)
    assert "1 run diverged (`gaussian/raw` with clipping), stopped by the trainer with" in text and "at epoch 3" in text
    assert "1 run of 2 trained without diverging" in text and "(not above that baseline)" in text
    assert "(above that baseline)" in raw_gaussians.raw_sentence(tab, baseline=-2e6)


def test_baseline_is_the_per_gene_gaussian_log_density(sim):
    x = get_variant(sim, "raw").toarray().astype(np.float64)
    tr = (sim.obs["split"] == "train").to_numpy()
    mu, var = x[tr].mean(0), np.maximum(x[tr].var(0), 1e-6)
    want = (-0.5 * (np.log(2 * np.pi * var) + (x[~tr] - mu) ** 2 / var)).sum(1).mean()
    assert raw_gaussians.gene_gaussian_baseline(sim) == pytest.approx(want, rel=1e-6)


def test_divergence_verdict_flips_with_the_runs():
    import pandas as pd

    trained = pd.DataFrame({"outcome": ["trained"] * 8})
    assert raw_gaussians.divergence_verdict(trained).startswith("not reproduced here: none of 8")
    one = pd.DataFrame({"outcome": ["trained"] * 7 + ["diverged"]})
    assert raw_gaussians.divergence_verdict(one).startswith("reproduced here: 1 of 8")


def test_sentence_at_one_run_none_trained_and_no_runs():
    specs = raw_gaussians.raw_gaussian_specs()
    ok = {"status": "ok", "test_elbo": -1e3, "epochs": 20, "test_kl": 18.0, "active_units": 7}
    one = raw_gaussians.raw_sentence(raw_gaussians.raw_table([RunResult(specs[0], ok)]), baseline=-2e3)
    assert "1 run of 1 trained without diverging, with a test ELBO of -1,000" in one
    assert "(above that baseline)" in one and "it did not collapse" in one
    bad = raw_gaussians.raw_table([RunResult(specs[0], {"status": "gaussian likelihood diverged at epoch 3"})])
    assert "none of the 1 trained without diverging; 1 run diverged" in raw_gaussians.raw_sentence(bad, -2e3)
    empty = raw_gaussians.raw_table([])
    assert raw_gaussians.raw_sentence(empty, -2e3) == "No Gaussian decoder was trained on raw counts here."
