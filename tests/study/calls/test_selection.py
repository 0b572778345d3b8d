"""The model choice is made on selection cells by a paired test, and its verdicts follow the numbers."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from cellvae.study.calls import selection
from cellvae.study.calls.selection import choose_model, converged_sentence
from cellvae.study.runner import runs as ex
from cellvae.study.runner.cache import RunResult
from cellvae.study.runner.grid import family_spec, variant_of
from cellvae.study.runner.tables import results_table

from tinyruns import tiny


def _run(arch, seed, sel, test, family="nb/raw", stopped="early_stopping", noise=1.0, n_cells=200, own=0):
    """A finished run whose selection cells average ``sel``, each cell off by seeded noise of s.d. ``noise``.

    The noise is the cells' own, shared by every architecture at one seed, unless ``own`` adds
    an architecture's own draw (then the per-cell differences vary too).
    """
    spec = variant_of(family_spec(arch, family), seed=seed)
    cells = np.random.default_rng([seed, own]).normal(0.0, noise, n_cells)
    cells = sel + cells - cells.mean()
    return RunResult(spec, {"status": "ok", "select_iwae": sel, "select_iwae_cells": cells.tolist(),
                            "test_iwae": test, "active_units": 10, "stopped": stopped})


def _grid(sel_a=(-500.0, -501.0, -502.0), sel_b=(-505.0, -506.0, -504.0), test_a=-520.0, test_b=-510.0,
          arch_a="M4", arch_b="M1"):
    return ([_run(arch_a, k, v, test_a + k) for k, v in enumerate(sel_a)]
            + [_run(arch_b, k, v, test_b + k) for k, v in enumerate(sel_b)])


def test_choice_follows_selection_cells_where_the_test_set_disagrees():
    choice = choose_model(_grid())  # M4 leads on selection cells by 4 nats, M1 on test
    assert choice.best.spec.arch == "M4" and choice.second.spec.arch == "M1" and not choice.tie_rule
    assert choice.best.spec.train.seed == 0 and len(choice.runs["M4"]) == 3
    top = choice.ranking.iloc[0]
    assert top["select IWAE"] == pytest.approx(-501.0) and top["test IWAE"] == pytest.approx(-519.0)
    assert top["test s.d."] == pytest.approx(1.0) and top["converged"] == "3 of 3"
    # swapping only the test numbers leaves the choice where it is
    assert choose_model(_grid(test_a=-510.0, test_b=-520.0)).best.spec.arch == "M4"
    assert choose_model(_grid(sel_a=(-506.0, -507.0, -505.0))).best.spec.arch == "M1"


def test_paired_bootstrap_interval_decides_and_a_tie_goes_to_the_smaller():
    clear = choose_model(_grid())
    lo, hi = clear.interval
    assert 0 < lo < clear.gap < hi and clear.distinguishable
    assert "excludes 0, so the two are distinguishable" in clear.verdict()
    assert clear.glue()["n_seeds"] == "over 3 seeds" and clear.n_seeds == 3
    # the larger M4 leads by 0.5 nats, but one seed reverses it: the interval holds 0
    tied = choose_model(_grid(sel_a=(-500.0, -500.0, -504.5), sel_b=(-502.0, -501.0, -503.0)))
    assert tied.leader == "M4" and not tied.distinguishable
    assert tied.best.spec.arch == "M1" and tied.tie_rule  # M1 (hidden 256) is smaller than M4 (512)
    assert "cannot be told apart; by the tie rule the smaller, M1, is chosen" in tied.verdict()
    # the same numbers with the smaller model leading: it is kept, and the page says why
    kept = choose_model(_grid(sel_a=(-500.0, -500.0, -504.5), sel_b=(-502.0, -501.0, -503.0),
                              arch_a="M1", arch_b="M4"))
    assert kept.best.spec.arch == "M1" and not kept.tie_rule and "the tie rule keeps it" in kept.verdict()


def test_one_seed_is_paired_over_cells_alone():
    one = choose_model([_run("M1", 0, -500.0, -510.0), _run("M2", 0, -502.0, -505.0)])
    assert one.n_seeds == 1 and one.distinguishable  # 2 nats against 1-nat cells: the cells decide
    close = choose_model([_run("M1", 0, -500.0, -510.0, noise=30.0, own=1),
                          _run("M2", 0, -500.5, -505.0, noise=30.0, own=2)])
    assert not close.distinguishable


def test_paired_gap_pairs_cells_even_without_a_shared_seed():
    gap, lo, hi, n = selection.paired_gap([_run("M1", 0, -500.0, -510.0)], [_run("M2", 1, -502.0, -510.0)])
    assert n == 1 and gap == pytest.approx(2.0) and lo < gap < hi
    with pytest.raises(ValueError, match="without runs"):
        selection.paired_gap([_run("M1", 0, -500.0, -510.0)], [])


def test_choice_needs_two_architectures_and_ignores_others():
    with pytest.raises(ValueError, match="two architectures"):
        choose_model([_run("M1", k, -500.0, -510.0) for k in range(3)])
    swept = variant_of(family_spec("M2", "nb/raw"), beta=4.0)
    extra = [RunResult(swept, {"status": "ok", "select_iwae": 0.0, "test_iwae": 0.0, "active_units": 1}),
             RunResult(family_spec("M3", "nb/raw"), {"status": "NaN loss"})]
    assert set(choose_model(_grid() + extra).runs) == {"M1", "M4"}


def test_gaussian_families_are_chosen_on_selection_cells_too():
    g = [_run("M1", 0, -10.0, 50.0, family="gaussian/processed"),
         _run("M2", 0, -5.0, 40.0, family="gaussian/processed")]
    assert choose_model(_grid() + g).gauss_best["gaussian/processed"] == ("M2", 40.0)


def test_converged_sentence_counts_what_stopped_each_run():
    t = pd.DataFrame({"stopped": ["early_stopping"] * 9 + ["max_epochs"]})
    assert converged_sentence(t, max_epochs=300).startswith("9 of 10 runs converged")
    assert "the 300-epoch cap ended 1" in converged_sentence(t, max_epochs=300)
    t = pd.DataFrame({"stopped": ["early_stopping"] * 3 + ["diverged"]})
    assert "3 of 4 runs converged" in converged_sentence(t, max_epochs=300)
    assert "none at the 300-epoch cap and 1 diverged" in converged_sentence(t, max_epochs=300)





@pytest.fixture
def cache(tmp_path):
    return ex.RunCache(tmp_path / "runs")


def test_choose_model_on_trained_runs_uses_selection_cells(sim, cache):
    specs = [tiny(arch="A", n_latent=2), tiny(arch="B", n_latent=4), tiny(arch="C", n_latent=6)]
    res = ex.run_all(sim, specs, cache=cache, progress=False)
    fit, select = ex.fit_and_select(sim)
    assert not (fit & select).any() and select.sum() == len(res[0].metrics["select_iwae_cells"]) > 0
    assert all(np.isfinite(r.metrics["select_iwae"]) for r in res)
    choice = selection.choose_model(res, family="nb/raw")
    assert choice.leader == max(res, key=lambda r: r.metrics["select_iwae"]).spec.arch
    assert choice.gap >= 0 and choice.ranking["gap to best"].iloc[0] == 0
    g = choice.glue()
    assert g["best_model"] == choice.best.spec.arch and "paired bootstrap over 1 seed(s)" in g["gap_verdict"]
    tab = results_table(res)
    np.testing.assert_allclose(tab["test ELBO"], -(tab["test recon"] + tab["test KL"]), rtol=1e-6)
    assert set(tab["stopped"]) <= {"early_stopping", "max_epochs"}
