"""The batch chapter's verdicts: the joint call, per-row nulls, detection limits, positions, scopes."""

import numpy as np
import pandas as pd

from cellvae.study.calls import verdicts as vd
from cellvae.study.scoring.integration import BIO, MIXING


def test_joint_verdict_flips_each_way():
    kw = dict(mix_threshold=0.7, bio_threshold=0.5)
    assert vd.judge(0.8, 0.6, **kw) == vd.WELL
    assert vd.judge(0.6, 0.6, **kw) == vd.AFFECTED
    assert vd.judge(0.8, 0.4, **kw) == vd.NO_STRUCTURE
    assert vd.judge(0.6, 0.4, **kw) == vd.BOTH
    assert vd.judge(np.nan, 0.6, **kw) == "not measured"


def _thr(mix=0.7, bio=0.5):
    idx = pd.MultiIndex.from_tuples([(sc, k, s) for sc in ("all batches", "site within donor", "donor within site")
                                     for k in ("PCA", "NB VAE") for s in (MIXING, BIO)])
    return pd.DataFrame({"mean": 0.8, "sd": 0.02, "n": 5,
                         "threshold": [mix if s == MIXING else bio for *_, s in idx]}, index=idx)


def test_verdict_table_judges_each_row_by_its_own_null():
    scores = pd.DataFrame({MIXING: [0.6, 0.9, 0.95], BIO: [0.6, 0.6, 0.2]}, index=["PCA", "our NB", "random"])
    v = vd.verdict_table(scores, {"PCA": "PCA", "our NB": "NB VAE", "random": "NB VAE"}, _thr())
    assert list(v["verdict"]) == [vd.AFFECTED, vd.WELL, vd.NO_STRUCTURE]


def _dose(site=(0.8, 0.75, 0.6, 0.4), donor=(0.8, 0.79, 0.78, 0.72)):
    recs = [{"effect": e, "strength": s, "kind": "PCA", "mixing": m}
            for e, vals in (("site", site), ("donor", donor))
            for s, m in zip((0.05, 0.1, 0.2, 0.4), vals)]
    recs += [{"effect": e, "strength": 0.0, "kind": "PCA", "mixing": 0.81} for e in ("site", "donor")]
    return pd.DataFrame(recs)


def test_detection_limit_is_the_smallest_flagged_strength():
    lim = vd.detection_limit(_dose(), _thr(mix=0.73), "PCA")
    assert lim == {"site": 0.2, "donor": 0.4}
    assert vd.limit_sentence(lim, 0.4) == "detection limit: site effect 0.2, donor effect 0.4"
    none = vd.detection_limit(_dose(donor=(0.8, 0.8, 0.8, 0.8)), _thr(mix=0.73), "PCA")
    assert vd.limit_sentence(none, 0.4).endswith("donor effect above 0.4")
    assert vd.detection_limit(_dose(), _thr(mix=0.9), "PCA")["site"] == 0.05  # a higher bar flags sooner
    one_site = vd.detection_limit(_dose()[lambda d: d["effect"] == "donor"], _thr(mix=0.73), "PCA")
    assert vd.limit_sentence(one_site, 0.4) == "detection limit: site effect not measurable here, donor effect 0.4"


def test_position_on_the_curve():
    d = _dose()
    assert vd.position(0.7, d, effect="site", kind="PCA") == "between the simulated site effects 0.1 and 0.2"
    assert "like no effect" in vd.position(0.9, d, effect="site", kind="PCA")
    assert "below the strongest" in vd.position(0.1, d, effect="site", kind="PCA")
    assert vd.position(0.401, d, effect="site", kind="PCA") == "at the simulated site effect 0.4"


def test_scope_sentence_flips():
    row = pd.Series({"Batch mixing": 0.6, "mixing threshold": 0.7})
    ok = pd.Series({"Batch mixing": 0.75, "mixing threshold": 0.7})
    s = vd.scope_sentence(row, what="site effect", where="within donor1", cond=ok)
    assert "**detected**" in s and "at or above" in s
    s = vd.scope_sentence(ok, what="site effect", where="within donor1", cond=row)
    assert "**not detected**" in s and "still below" in s
    nan = pd.Series({"Batch mixing": np.nan, "mixing threshold": 0.7})
    assert "cannot be measured" in vd.scope_sentence(nan, what="donor effect", where="within site1", cond=None)
