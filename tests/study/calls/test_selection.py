"""The model choice is made on validation cells over seeds, and its verdicts follow the numbers."""

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


def _run(arch, seed, val, test, family="nb/raw", stopped="early_stopping"):
    spec = variant_of(family_spec(arch, family), seed=seed)
    return RunResult(spec, {"status": "ok", "val_iwae": val, "test_iwae": test, "active_units": 10,
                            "stopped": stopped})


def _grid(val_a=(-500.0, -501.0, -502.0), val_b=(-505.0, -506.0, -504.0), test_a=-520.0, test_b=-510.0):
    return ([_run("M1", k, v, test_a + k) for k, v in enumerate(val_a)]
            + [_run("M4", k, v, test_b + k) for k, v in enumerate(val_b)])


def test_choice_follows_validation_where_the_test_set_disagrees():
    choice = choose_model(_grid())  # M1 is better on validation, M4 on test
    assert choice.best.spec.arch == "M1" and choice.second.spec.arch == "M4"
    assert choice.best.spec.train.seed == 0 and len(choice.runs["M1"]) == 3
    top = choice.ranking.iloc[0]
    assert top["val IWAE"] == pytest.approx(-501.0) and top["test IWAE"] == pytest.approx(-519.0)
    assert top["test s.d."] == pytest.approx(1.0) and top["converged"] == "3 of 3"
    # swapping only the test numbers leaves the choice where it is
    assert choose_model(_grid(test_a=-510.0, test_b=-520.0)).best.spec.arch == "M1"
    assert choose_model(_grid(val_a=(-506.0, -507.0, -505.0))).best.spec.arch == "M4"


def test_distinguishable_flips_with_the_seed_spread():
    clear = choose_model(_grid())  # gap 4 nats, spread 1 nat
    assert clear.distinguishable and "the two are distinguishable" in clear.verdict()
    assert clear.glue()["n_seeds"] == "over 3 seeds"
    tied = choose_model(_grid(val_a=(-495.0, -501.0, -510.0)))  # gap 3, spread ~7.5
    assert not tied.distinguishable and "not distinguishable" in tied.verdict()


def test_one_seed_cannot_judge_the_gap():
    one = choose_model([_run("M1", 0, -500.0, -510.0), _run("M2", 0, -502.0, -505.0)])
    assert one.n_seeds == 1 and not one.distinguishable and "cannot be judged" in one.verdict()


def test_choice_needs_two_architectures_and_ignores_others():
    with pytest.raises(ValueError, match="two architectures"):
        choose_model([_run("M1", k, -500.0, -510.0) for k in range(3)])
    swept = variant_of(family_spec("M2", "nb/raw"), beta=4.0)
    extra = [RunResult(swept, {"status": "ok", "val_iwae": 0.0, "test_iwae": 0.0, "active_units": 1}),
             RunResult(family_spec("M3", "nb/raw"), {"status": "NaN loss"})]
    assert set(choose_model(_grid() + extra).runs) == {"M1", "M4"}


def test_gaussian_families_are_chosen_on_validation_too():
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


def test_choose_model_on_trained_runs_uses_validation(sim, cache):
    specs = [tiny(arch="A", n_latent=2), tiny(arch="B", n_latent=4), tiny(arch="C", n_latent=6)]
    res = ex.run_all(sim, specs, cache=cache, progress=False)
    assert all(np.isfinite(r.metrics["val_iwae"]) for r in res)
    choice = selection.choose_model(res, family="nb/raw")
    val = {r.spec.arch: r.metrics["val_iwae"] for r in res}
    assert choice.best.spec.arch == max(val, key=val.get)
    assert choice.gap >= 0 and choice.ranking["gap to best"].iloc[0] == 0
    g = choice.glue()
    assert g["best_model"] == choice.best.spec.arch and "cannot be judged" in g["gap_verdict"]  # one seed
    tab = results_table(res)
    np.testing.assert_allclose(tab["test ELBO"], -(tab["test recon"] + tab["test KL"]), rtol=1e-6)
    assert set(tab["stopped"]) <= {"early_stopping", "max_epochs"}
