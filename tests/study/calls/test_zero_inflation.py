"""The zero-inflation verdict flips on the PPC errors and the paired held-out likelihood."""

from __future__ import annotations

import numpy as np


def test_zero_inflation_verdict_flips_on_the_errors_and_the_likelihood():
    from cellvae.study.calls.zero_inflation import ZERO_GAIN, zero_inflation_verdict

    nb, better, same = ({"zero fraction MAE": v} for v in (0.05, 0.05 * (1 - ZERO_GAIN) - 1e-4, 0.045))
    yes, text = zero_inflation_verdict(nb, better, ll_gain=3.0, ll_se=0.1, simulated=False)
    assert yes and "fits better on both counts" in text and "0.0500" in text and "+3.0" in text
    no, text = zero_inflation_verdict(nb, better, ll_gain=0.1, ll_se=0.1, simulated=False)
    assert not no and "no evidence that extra zeros are needed" in text
    no, text = zero_inflation_verdict(nb, same, ll_gain=3.0, ll_se=0.1, simulated=False)
    assert not no and "without reproducing the zeros" in text
    no, text = zero_inflation_verdict(nb, same, ll_gain=-1.0, ll_se=0.1, simulated=True)
    assert not no and "zero inflation is not needed" in text and "simulator" not in text
    _, text = zero_inflation_verdict(nb, better, ll_gain=3.0, ll_se=0.1, simulated=True)
    assert "cannot come from extra zeros" in text
    assert zero_inflation_verdict(None, better, ll_gain=0, ll_se=1, simulated=True)[1].endswith("diverged.")


def test_zero_inflation_finding_of_runs_uses_the_paired_held_out_likelihood():
    from types import SimpleNamespace

    from cellvae.study.calls.zero_inflation import zero_inflation_finding

    errs = {"zero fraction MAE": 0.05}
    nb = SimpleNamespace(metrics={"ppc": errs}, iwae_cells=np.full(50, -800.0))
    zinb = SimpleNamespace(metrics={"ppc": {"zero fraction MAE": 0.01}}, iwae_cells=np.full(50, -797.0))
    better, text = zero_inflation_finding(nb, zinb, simulated=False)
    assert better and "+3.0 ± 0.0" in text
    diverged = SimpleNamespace(metrics={"status": "diverged"}, iwae_cells=None)
    assert zero_inflation_finding(nb, diverged, simulated=False) == (
        False, "The zero-inflation check could not be made: the NB or the ZINB run diverged.")
