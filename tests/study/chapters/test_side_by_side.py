"""The side-by-side of simulated and real findings: agree or differ from the values."""

from __future__ import annotations

import numpy as np

from cellvae.study.chapters import side_by_side
from cellvae.study.runner.cache import RunResult


def _f(**kw):
    base = dict(n_collapsed=5, n_original=5, nb_au=(10, 50), zinb_better=False, mixing_plain=(0.5, 0.51, 0.49),
                mixing_cond=0.8, pca_call="detected", n_genes=2000)
    return side_by_side.Findings(**(base | kw))


def test_compare_findings_says_agree_or_differ_from_the_values():
    same = side_by_side.compare_findings(_f(), _f(), main_name="simulated data")
    assert len(same) == 5 and all("the two agree" in s for s in same)
    diff = side_by_side.compare_findings(_f(), _f(n_collapsed=2, zinb_better=True, pca_call="not detected",
                                              mixing_cond=0.52, nb_au=(1, 3)), main_name="simulated data")
    assert all("differ" in s for s in diff)
    assert "5 of 5 collapse on the simulated data, 2 of 5 collapse on real cells" in diff[0]
    assert "mixing stays within the seed-to-seed spread on real cells" in diff[-1]
    assert "0.450 to 0.550 over 3 seeds" in diff[-1]  # 0.5 -/+ t(0.975, 2) * 0.01 * sqrt(4/3) = 0.5 -/+ 0.050


def test_mixing_change_flips_with_the_seed_spread():
    assert _f().mixing_change == 1
    assert _f(mixing_cond=0.2).mixing_change == -1
    assert _f(mixing_cond=0.53).mixing_change == 0
    assert _f(mixing_cond=0.53, mixing_plain=(0.5, 0.5001, 0.4999)).mixing_change == 1  # a tighter spread
    assert "improves beyond" in side_by_side.compare_findings(_f(), _f(), main_name="x")[-1]
    unjudged = _f(mixing_plain=(0.5, np.nan, np.nan))  # e.g. two seeds diverged
    assert unjudged.mixing_change is None and _f(mixing_cond=np.nan).mixing_change is None
    text = side_by_side.compare_findings(_f(), unjudged, main_name="x")[-1]
    assert "not judged (1 usable seed score(s), two needed)" in text
    text = side_by_side.compare_findings(_f(), _f(mixing_cond=np.nan), main_name="x")[-1]
    assert "not judged (no NB +batch score)" in text and "batch mixing not scored" in text
    both = side_by_side.compare_findings(_f(mixing_cond=np.nan), unjudged, main_name="x")[-1]
    assert "the two agree" in both  # unjudged on both, for different reasons: the outcomes agree
    assert "mixing worsens beyond" in side_by_side.compare_findings(_f(mixing_cond=0.2), _f(), main_name="x")[-1]
    assert "seed score(s), two needed" not in text  # all three seed scores are there: that is not the reason


def test_findings_count_collapse_and_zero_inflation():
    from cellvae.study.runner.grid import family_spec, zinb_of

    def run(spec, **m):
        return RunResult(spec=spec, metrics=m, iwae_cells=np.zeros(4))

    ppc = {"zero fraction MAE": 0.02}
    res = [run(family_spec("M1", "original"), test_kl=0.01, active_units=0),
           run(family_spec("M2", "original"), test_kl=20.0, active_units=30),
           run(family_spec("M1", "nb/raw"), active_units=10, ppc=ppc),
           run(family_spec("M2", "nb/raw"), active_units=45, ppc=ppc)]
    zinb = run(zinb_of(family_spec("M1", "nb/raw")), active_units=10, ppc={"zero fraction MAE": 0.019})
    f = side_by_side.findings(res, res[2], res[2], zinb, (np.array([0.4, 0.41, 0.39]), 0.5), False, simulated=False,
                          n_genes=1000)
    assert (f.n_collapsed, f.n_original, f.nb_au) == (1, 2, (10, 45))
    assert not f.all_collapsed and not f.zinb_better
    assert f.mixing_plain == (0.4, 0.41, 0.39) and f.mixing_cond == 0.5 and f.mixing_change == 1
    assert f.orig_kl == (0.01, 20.0)
    text = side_by_side.compare_findings(f, f, main_name="simulated data")[0]
    assert "1 of 2 collapse (test KL 0.01 to 20 nats per cell) on the simulated data" in text
    one = side_by_side.Findings(**{**f.__dict__, "orig_kl": (120.0, 120.0)})
    assert "(test KL 120 nats per cell)" in side_by_side.compare_findings(one, one, main_name="x")[0]


def test_another_tissue_is_never_said_to_agree():
    from cellvae.study.chapters.side_by_side import _agree

    assert _agree(1, 1) == "the two agree" and _agree(1, 2) == "**the two differ**"
    assert _agree(1, 1, False) == "the same outcome, in another tissue (not a replication)"
    assert _agree(1, 2, False) == "a different outcome, in another tissue"


def test_the_original_number_is_compared_only_on_bmmc():
    import anndata as ad
    import numpy as np
    import pandas as pd

    from cellvae.study.chapters.results import _not_compared
    from cellvae.study.runner.bookdata import is_bmmc

    bmmc = ad.AnnData(np.zeros((4, 1)), obs=pd.DataFrame({"cell_type": ["CD14+ Mono", "NK", "HSC", "B cell"]}))
    pbmc = ad.AnnData(np.zeros((4, 1)), obs=pd.DataFrame({"cell_type": ["CD14 Mono", "NK cell", "B", "NK"]}))
    assert is_bmmc(bmmc) and not is_bmmc(pbmc)
    pbmc.uns["simulation"] = {}
    assert is_bmmc(pbmc)
    assert _not_compared(np.array([0.1, 0.2])).startswith("not compared here: the original's 0.0002 was measured on BMMC")
