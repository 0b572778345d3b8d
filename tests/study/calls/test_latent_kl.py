"""The KL per latent dimension, from a run's saved weights, adds up to the run's own test KL."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from cellvae.study.calls.latent_kl import DIMS_COL, kl_per_dimension, kl_profile, kl_summary
from cellvae.study.runner.runs import run_all

from tinyruns import tiny


def test_the_dimensions_add_up_to_the_runs_test_kl_and_line_up_largest_first(sim):
    run = run_all(sim, [tiny(arch="T9", n_latent=4)], progress=False)[0]
    kl = kl_per_dimension(sim, run)
    assert kl.shape == (4,) and (kl >= 0).all()
    assert kl.sum() == pytest.approx(run.metrics["test_kl"], rel=1e-4)
    np.testing.assert_array_equal(kl_per_dimension(sim, run), kl)  # cached, same numbers
    prof = kl_profile(sim, [run], family="nb/raw")
    assert list(prof["rank"]) == [1, 2, 3, 4] and prof["KL"].is_monotonic_decreasing
    assert kl_profile(sim, [run], family="original").empty


def test_kl_summary_counts_the_dimensions_that_hold_most_of_the_kl():
    prof = pd.DataFrame({"model": ["A"] * 4 + ["B"] * 4, "rank": [1, 2, 3, 4] * 2,
                         "KL": [9.0, 0.5, 0.3, 0.2, 2.5, 2.5, 2.5, 2.5]})
    s = kl_summary(prof)
    assert s.loc["A", "total KL"] == 10 and s.loc["A", "top dimension"] == 9 and s.loc["A", DIMS_COL] == 1
    assert s.loc["B", DIMS_COL] == 4


def test_the_profile_figure_draws_a_panel_per_dataset_and_a_line_per_architecture():
    from cellvae.study.figures.collapse import kl_profiles

    prof = pd.DataFrame({"model": ["A"] * 3 + ["B"] * 3, "rank": [1, 2, 3] * 2, "KL": [5.0, 0.1, 0.0, 1.0, 0.5, 0.2]})
    fig = kl_profiles({"real": prof, "simulated": prof[prof["model"] == "A"]})
    left, right = fig.axes
    assert len(left.get_lines()) == 3 and len(right.get_lines()) == 2  # the architectures and the floor
    assert left.get_yscale() == "log" and min(left.get_lines()[0].get_ydata()) > 0  # a zero drawn at the floor


def test_missing_weights_read_as_unknown_not_as_collapse(sim, tmp_path, monkeypatch):
    run = run_all(sim, [tiny(arch="T8", n_latent=3)], progress=False)[0]
    from cellvae.study.runner.cache import RunCache, data_key

    weights = RunCache().root / f"{run.spec.key(data_key(sim))}.pt"
    saved = weights.read_bytes()
    weights.unlink()
    assert np.isnan(kl_per_dimension(sim, run)).all()
    s = kl_summary(kl_profile(sim, [run], family="nb/raw"))
    assert s.isna().all().all()  # not a total of 0, which would read as a collapse
    weights.write_bytes(saved)  # the weights come back: read then, not a cached NaN
    assert np.isfinite(kl_per_dimension(sim, run)).all()
