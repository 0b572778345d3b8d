"""The batch chapter's verdicts: one-sided tests over replicates, per-row nulls, positions, scopes."""

import numpy as np
import pandas as pd

from cellvae.study.calls import verdicts as vd
from cellvae.study.scoring.integration import BIO, MIXING

TIGHT = np.array([-0.01, -0.005, 0.0, 0.005, 0.01])  # five replicates, s.d. ~0.008


def test_joint_verdict_flips_each_way_and_reads_inconclusive_inside_the_noise():
    kw = dict(mix_threshold=0.7, bio_threshold=0.5)
    assert vd.judge(0.8 + TIGHT, 0.6 + TIGHT, **kw) == vd.WELL
    assert vd.judge(0.6 + TIGHT, 0.6 + TIGHT, **kw) == vd.AFFECTED
    assert vd.judge(0.8 + TIGHT, 0.4 + TIGHT, **kw) == vd.NO_STRUCTURE
    assert vd.judge(0.6 + TIGHT, 0.4 + TIGHT, **kw) == vd.BOTH
    # the mean is above the threshold, but the replicates' spread straddles it
    assert vd.judge(0.71 + 10 * TIGHT, 0.6 + TIGHT, **kw) == vd.INCONCLUSIVE
    assert vd.judge(0.69 + 10 * TIGHT, 0.6 + TIGHT, **kw) == vd.INCONCLUSIVE
    assert vd.judge([0.8], [0.6], **kw) == vd.INCONCLUSIVE  # one replicate has no interval
    assert vd.judge([np.nan] * 5, 0.6 + TIGHT, **kw) == vd.NOT_MEASURED
    assert vd.judge(0.8 + TIGHT, 0.6 + TIGHT, mix_threshold=np.nan, bio_threshold=0.5) == vd.NOT_MEASURED


def test_bounds_are_one_sided_t_bounds():
    mean, lo, hi = vd.bounds([1.0, 2.0, 3.0], alpha=0.05)
    assert mean == 2.0 and np.isclose(hi - mean, 2.919986 * 1.0 / np.sqrt(3), atol=1e-5) and np.isclose(mean - lo, hi - mean)
    assert vd.side([1.0, 2.0, 3.0], 0.2) == vd.ABOVE and vd.side([1.0, 2.0, 3.0], 3.8) == vd.BELOW
    assert vd.side([1.0, 2.0, 3.0], 2.5) == vd.INCONCLUSIVE


def _thr(mix=0.7, bio=0.5):
    idx = pd.MultiIndex.from_tuples([(sc, k, s) for sc in ("all batches", "site within donor", "donor within site")
                                     for k in ("PCA", "NB VAE") for s in (MIXING, BIO)])
    return pd.DataFrame({"mean": 0.8, "sd": 0.02, "n": 5,
                         "threshold": [mix if s == MIXING else bio for *_, s in idx]}, index=idx)


def _reps(**rows):
    return pd.DataFrame([{"embedding": n, MIXING: m + d, BIO: b + d} for n, (m, b) in rows.items() for d in TIGHT])


def test_verdict_table_judges_each_row_by_its_own_null():
    reps = _reps(PCA=(0.6, 0.6), **{"our NB": (0.9, 0.6), "random": (0.95, 0.2)})
    v = vd.verdict_table(reps, {"PCA": "PCA", "our NB": "NB VAE", "random": "NB VAE"}, _thr())
    assert list(v["verdict"]) == [vd.AFFECTED, vd.WELL, vd.NO_STRUCTURE]
    assert list(v["K"]) == [5, 5, 5] and list(v["mixing call"]) == [vd.BELOW, vd.ABOVE, vd.ABOVE]
    assert (v["mixing low"] < v[MIXING]).all() and (v[MIXING] < v["mixing high"]).all()


def test_a_verdict_is_refused_when_its_threshold_lies_above_the_perfect_mixing_control():
    reps = _reps(PCA=(0.6, 0.6), **{"our NB": (0.9, 0.6)})
    kinds = {"PCA": "PCA", "our NB": "NB VAE"}
    v = vd.verdict_table(reps, kinds, _thr(mix=0.7), ceiling=0.65)  # no embedding could clear 0.7
    assert list(v["verdict"]) == [vd.REFUSED] * 2 and list(v["mixing call"]) == [vd.REFUSED] * 2
    assert "null threshold (0.700) lies above the perfect-mixing control's score (0.650)" in vd.refusal_text(v.iloc[0])
    assert "not judged" in vd.scope_sentence(v.loc["PCA"], what="donor effect", where="here", cond=None)
    kept = vd.verdict_table(reps, kinds, _thr(mix=0.7), ceiling=0.95)  # the control clears it: judged
    assert list(kept["verdict"]) == [vd.AFFECTED, vd.WELL]
    assert list(vd.verdict_table(reps, kinds, _thr(mix=0.7))["verdict"]) == [vd.AFFECTED, vd.WELL]  # no control


def _dose(site=(0.8, 0.75, 0.6, 0.4), donor=(0.8, 0.79, 0.78, 0.72)):
    recs = [{"effect": e, "strength": s, "seed": k, "kind": "PCA", "mixing": m + 0.001 * k}
            for e, vals in (("site", site), ("donor", donor))
            for s, m in zip((0.05, 0.1, 0.2, 0.4), vals) for k in range(3)]
    return pd.DataFrame(recs)


def test_position_on_the_curve_reads_the_mean_over_simulations():
    d = _dose()
    assert vd.position(0.7, d, effect="site", kind="PCA") == "between the simulated site effects 0.1 and 0.2"
    assert "like no effect" in vd.position(0.9, d, effect="site", kind="PCA")
    assert "below the strongest" in vd.position(0.1, d, effect="site", kind="PCA")
    assert vd.position(0.401, d, effect="site", kind="PCA") == "at the simulated site effect 0.4"


def _row(m, call, lo=None, hi=None):
    return pd.Series({MIXING: m, "mixing low": m - 0.01 if lo is None else lo, "mixing high": m + 0.01 if hi is None
                      else hi, "mixing threshold": 0.7, "mixing call": call, "K": 5})


def test_scope_sentence_flips_with_the_call():
    below, above = _row(0.6, vd.BELOW), _row(0.75, vd.ABOVE)
    s = vd.scope_sentence(below, what="site effect", where="within donor1", cond=above)
    assert "**detected**" in s and "at or above" in s and "over 5 replicates" in s
    s = vd.scope_sentence(above, what="site effect", where="within donor1", cond=below)
    assert "**not detected**" in s and "still below" in s
    s = vd.scope_sentence(_row(0.7, vd.INCONCLUSIVE, 0.65, 0.75), what="donor effect", where="within site1", cond=None)
    assert "**inconclusive**" in s and "0.700 (0.650-0.750)" in s
    nan = pd.Series({MIXING: np.nan, "mixing threshold": 0.7})
    assert "cannot be measured" in vd.scope_sentence(nan, what="donor effect", where="within site1", cond=None)


def test_pooled_donors_read_the_verdicts_as_donor_structure():
    from cellvae.study.chapters.batch_text import row_verdicts

    reps = _reps(PCA=(0.6, 0.6), **{"our NB": (0.9, 0.6)})
    v = vd.verdict_table(reps, {"PCA": "PCA", "our NB": "NB VAE"}, _thr())
    plain = row_verdicts(v, {"scVI": "not installed"})
    assert "PCA: **batch-affected**" in plain and "our NB: **well integrated**" in plain and "scVI: not installed" in plain
    pooled = row_verdicts(v, {}, pooled=True)
    assert "PCA: **donors apart (donor structure kept)**" in pooled and "batch-affected" not in pooled
