"""Detection as power: shares of simulations detected, the measured false-positive rate, the limit."""

import numpy as np
import pandas as pd
import pytest

from cellvae.study.calls import power as pw
from cellvae.study.scoring.integration import BIO, MIXING


def _thr(mix=0.7):
    idx = pd.MultiIndex.from_tuples([(sc, k, s) for sc in ("site within donor", "donor within site")
                                     for k in ("PCA", "NB VAE") for s in (MIXING, BIO)])
    return pd.DataFrame({"threshold": [mix if s == MIXING else 0.5 for *_, s in idx]}, index=idx)


def _dose(site_hits=(1, 3, 5, 5), donor_hits=(0, 0, 1, 4)):
    """Five simulations per strength; ``hits`` of them score below 0.7."""
    recs = []
    for effect, hits in (("site", site_hits), ("donor", donor_hits)):
        for s, h in zip((0.05, 0.1, 0.2, 0.4), hits):
            recs += [{"effect": effect, "strength": s, "seed": k, "kind": "PCA", "mixing": 0.6 if k < h else 0.8}
                     for k in range(5)]
    return pd.DataFrame(recs)


def test_power_is_the_share_detected_with_an_exact_interval():
    p = pw.power_table(_dose(), _thr())
    row = pw.power_at(p, effect="site", kind="PCA", strength=0.1)
    assert row["detected"] == 3 and row["n"] == 5 and row["power"] == pytest.approx(0.6)
    assert row["low"] == pytest.approx(0.1466, abs=1e-3) and row["high"] == pytest.approx(0.9473, abs=1e-3)
    assert pw.power_at(p, effect="site", kind="NB VAE", strength=0.1) is None
    assert "in 3 of 5 simulations (power 60%, 95% CI 15%-95%)" in pw.power_clause(row, what="PCA detects it")


def test_detection_limit_needs_the_target_power_and_says_when_it_is_a_ceiling():
    lim = pw.detection_limit(pw.power_table(_dose(), _thr()), "PCA")
    assert lim == {"site": 0.2, "donor": 0.4}  # 3 of 5 at 0.1 is not 80%; 4 of 5 at 0.4 is
    weak = pw.detection_limit(pw.power_table(_dose(donor_hits=(0, 0, 1, 3)), _thr()), "PCA")
    assert np.isnan(weak["donor"])
    assert pw.limit_sentence(lim, 0.4).endswith("site effect 0.2, donor effect 0.4, the largest tested")
    assert pw.limit_sentence(weak, 0.4).endswith("donor effect not reached up to 0.4, the largest tested")
    one = pw.detection_limit(pw.power_table(_dose()[lambda d: d["effect"] == "donor"], _thr()), "PCA")
    assert one["site"] is None and pw.limit_sentence(one, 0.4) == "detection limit at 80% power: donor effect 0.4, the largest tested"
    assert pw.limit_sentence({"site": None, "donor": None}, 0.4) == "detection limit at 80% power: none measurable here"


def test_false_positive_rate_is_measured_leave_one_out():
    null = pd.DataFrame({"seed": range(5), "scope": "all batches", "kind": "PCA", "stat": MIXING,
                         "value": [0.80, 0.81, 0.79, 0.80, 0.60]})
    r = pw.false_positive_rate(null).loc[("all batches", "PCA")]
    assert r["n"] == 5 and r["flagged"] == 1  # the outlier falls below the others' bound
    calm = null.assign(value=[0.80, 0.82, 0.78, 0.81, 0.79])
    assert pw.false_positive_rate(calm).loc[("all batches", "PCA"), "flagged"] == 0
