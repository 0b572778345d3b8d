"""The intro's key findings follow their inputs: each verdict word flips, and the two lists stay apart."""

from __future__ import annotations

from types import SimpleNamespace

import pandas as pd

from cellvae.study.calls.verdicts import ABOVE, BELOW
from cellvae.study.chapters.key_findings import (
    batch_bullet,
    key_findings,
    power_bullet,
    real_bullets,
)
from cellvae.study.scoring.integration import MIXING

TRUTH = {"site_effect": 0.4, "donor_effect": 0.2}


def _ev(call=BELOW, pca_power=0.4, vae_power=0.2):
    v = pd.DataFrame({MIXING: [0.80], "mixing low": [0.78], "mixing high": [0.82], "mixing threshold": [0.98],
                      "mixing call": [call]}, index=["PCA"])
    power = pd.DataFrame({"effect": "donor", "kind": ["PCA", "NB VAE"], "strength": 0.2,
                          "detected": [5 * pca_power, 5 * vae_power], "n": 5.0, "power": [pca_power, vae_power],
                          "low": [pca_power - 0.5, vae_power - 0.5]})
    return SimpleNamespace(verdicts=v, power=power)


def _ch(collapsed=3, zinb_better=False, donors_detected=(True, True), au=(10, 100)):
    f = SimpleNamespace(n_collapsed=collapsed, n_original=5, nb_au=au, zinb_better=zinb_better)
    donors = pd.DataFrame({MIXING: [0.75, 0.85], "threshold": [0.95, 0.945], "detected": list(donors_detected)},
                          index=["as measured", "both"])
    adata = SimpleNamespace(n_obs=600, obs=pd.DataFrame({"batch": ["s1d1", "s1d2"] * 300}))
    batch = (None, {"pca_mixing": 0.74, "threshold": 0.95, "pca_flagged": donors_detected[0]})
    spec = SimpleNamespace(train=SimpleNamespace(seed=0))
    return SimpleNamespace(findings=f, adata=adata, donors=(donors, ""), batch=batch,
                           nb=SimpleNamespace(metrics={"test_iwae": -300.0}, spec=spec),
                           zinb=SimpleNamespace(metrics={"test_iwae": -316.5}))


def _choice():
    spec = SimpleNamespace(arch="M2", model=SimpleNamespace(n_latent=50, n_hidden=256))
    return SimpleNamespace(best=SimpleNamespace(spec=spec), second=SimpleNamespace(spec=SimpleNamespace(arch="M3")),
                           verdict=lambda: "the two cannot be told apart")


CLAIMS = {"raw_claim": "not reproduced here", "recon_claim": "not reproduced here", "collapse_claim": "reproduced here"}


def test_the_batch_call_flips_and_a_simulated_one_is_a_check_of_the_method():
    s = batch_bullet(_ev(), truth=TRUTH)
    assert "(site 0.4, donor 0.2) are detected**" in s and "0.800 (0.780-0.820)" in s and "not a finding" in s
    real = batch_bullet(_ev(call=ABOVE), truth=None)
    assert "Batch effects in this file are not detected" in real and "not a finding" not in real
    assert "are inconclusive" in batch_bullet(_ev(call="inconclusive"), truth=None)


def test_power_below_the_target_says_a_miss_is_not_evidence_and_full_power_says_reliable():
    low = power_bullet(_ev())
    assert "PCA in 2 of 5 simulations and by our NB VAE in 1 of 5" in low
    assert "below 80% power for PCA and our NB VAE, so there a \"not detected\"" in low
    assert "below 80% power for our NB VAE," in power_bullet(_ev(pca_power=1.0, vae_power=0.6))
    assert "too few simulations to call it reliable" in power_bullet(_ev(pca_power=1.0, vae_power=0.8))
    ev = _ev(pca_power=1.0, vae_power=1.0)
    ev.power["low"] = 0.9
    assert "detected reliably" in power_bullet(ev)
    assert "of real size" in power_bullet(ev) and "of the simulator's size" in power_bullet(ev, bmmc=False)


def test_real_bullets_carry_the_numbers_and_flip_their_words():
    b = real_bullets(_ch())
    assert "collapses 3 of 5 architectures" in b[0] and "10 to 100 active units" in b[0]
    assert "is not needed" in b[1] and "-16.5 nats" in b[1] and "(seed 0)" in b[1]
    assert "the 2 donors' cells separate** (PCA batch mixing 0.740 against 0.950), and stay apart" in b[2]
    assert "is needed" in real_bullets(_ch(zinb_better=True))[1]
    assert "but not once" in real_bullets(_ch(donors_detected=(True, False)))[2]
    assert "not told apart" in real_bullets(_ch(donors_detected=(False, False)))[2]
    edge = real_bullets(_ch(collapsed=0, au=(10, 10)))[0]
    assert "collapses none of the 5 architectures" in edge and "keeps 10 active units" in edge


def test_the_simulators_checks_stay_apart_from_real_cells_and_a_real_file_moves_them():
    method, cells = key_findings(_ev(), _choice(), CLAIMS, _ch(), truth=TRUTH)
    assert len(method) == 4 and len(cells) == 3
    assert all("real_cells.md" in c for c in cells) and not any("real_cells.md" in m for m in method)
    method, cells = key_findings(_ev(), _choice(), CLAIMS, _ch(), truth=None)
    assert len(method) == 1 and "donor effect of real size" in method[0] and len(cells) == 6
    assert "Batch effects in this file are detected" in cells[0]
    _, pooled = key_findings(_ev(), _choice(), CLAIMS, _ch(), truth=None, pooled=True)
    assert "Donor differences in this file (donors pooled in one lane: biology, not a batch effect)" in pooled[0]
