"""Truth recovery reads a trained run's weights and compares them with the simulator's truth."""

import pytest

from cellvae.study.calls import truth
from cellvae.study.runner import runs as ex

from tinyruns import tiny


@pytest.mark.slow
def test_truth_table_compares_learned_with_true(sim, tmp_path, monkeypatch):
    monkeypatch.setenv("CELLVAE_CACHE", str(tmp_path))
    assert truth.has_truth(sim)
    plain, cond = ex.run_all(sim, [tiny(arch="T"), tiny(arch="T", conditional=True)], progress=False, jobs=1)
    d = truth.dispersion_recovery(sim, plain)
    assert -1 <= d["rho"] <= 1 and d["median ratio"] > 0 and d["genes"] == sim.n_vars
    b = truth.batch_shift_recovery(sim, cond)
    assert b["batches"] == sim.obs["batch"].nunique() and -1 <= b["r"] <= 1
    table = truth.truth_table(sim, plain, cond, 0.7)
    assert len(table) == 4 and table["value"].iloc[2] == 0.7
    text = truth.truth_sentence(table)
    assert "trajectory conservation 0.70, rho 0.40" in text and "not findings about cells" in text
    assert "lineage pseudotime" in text and "weak agreement with the lineage" in text
    sim_real = sim.copy()
    del sim_real.uns["simulation"]
    assert not truth.has_truth(sim_real)


def test_agreement_words_follow_the_correlation():
    assert [truth.agreement(r) for r in (-0.3, 0.0, 0.19, 0.3, 0.6, 0.95)] == ["no", "no", "no", "weak", "moderate",
                                                                              "strong"]
    assert truth.agreement(float("nan")) == "unmeasured"
