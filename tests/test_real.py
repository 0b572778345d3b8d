"""The real-cells chapter's logic: specs, facts, the collapse and batch sentences, the side-by-side."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from cellvae.study.calls import original_study
from cellvae.study.chapters import real_cells, side_by_side
from cellvae.study.runner.cache import RunResult
from cellvae.study.runner.grid import ARCHITECTURES


def test_seed_specs_vary_only_the_seed():
    base = next(s for s in real_cells.real_specs()
                if s.arch == real_cells.REAL_ARCH and s.family == "nb/raw" and not s.conditional)
    seeds = real_cells.seed_specs()
    assert [s.train.seed for s in seeds] == [1, 2]
    assert all(replace(s, train=base.train) == base for s in seeds)


def test_real_specs_fix_the_architecture_and_budget():
    specs = real_cells.real_specs()
    assert len(specs) == 2 * len(ARCHITECTURES) + 2
    assert all(s.train == real_cells.STARTER_TRAIN for s in specs)
    extra = [s for s in specs if s.conditional or s.family == "zinb/raw"]
    assert [(s.arch, s.family, s.conditional) for s in extra] == [
        (real_cells.REAL_ARCH, "nb/raw", True), (real_cells.REAL_ARCH, "zinb/raw", False)]


def test_starter_facts_are_the_real_cells():
    adata = real_cells.starter_data()
    f = real_cells.starter_facts(adata)
    assert f["n_cells"] == "600" and f["n_batches"] == 2 and f["top_gene"] == "HBB"
    assert "starter" in adata.uns["source"]
    assert f["n_test"] == (adata.obs["split"] == "test").sum()
    assert (f["donors"], f["sites"]) == ("two donors", "one site") and f["batch_is"].endswith("a donor effect")


def _orig(models, latents, hidden, active, kl):
    return pd.DataFrame({"model": models, "latent": latents, "hidden": hidden,
                         "beta_eff": [1000 / d for d in latents], "test KL": kl, "active units": active,
                         "collapsed": [k < 0.5 and a <= 1 for k, a in zip(kl, active)]})


def test_collapse_sentence_follows_the_table():
    follows = _orig(["M1", "M3"], [10, 100], [256, 256], [0, 40], [0.01, 30.0])
    assert "consistent with beta_eff" in original_study.collapse_sentence(follows)
    assert "width matters" not in original_study.collapse_sentence(follows)
    # the starter's own Table R2: one collapse, and at beta_eff 20 the width decides
    starter = _orig(["M1", "M2", "M3", "M4", "M5"], [10, 50, 100, 50, 50], [256, 256, 256, 512, 1024],
                    [0, 26, 57, 4, 1], [0.029, 0.65, 1.6, 0.7, 0.64])
    text = original_study.collapse_sentence(starter)
    assert "consistent with beta_eff: the collapsed run has" in text
    assert "at beta_eff = 20, M2 (hidden 256) keeps 26 active units and M5 (hidden 1024) 1" in text
    breaks = _orig(["M2", "M5"], [50, 50], [256, 1024], [26, 1], [20.0, 0.1])
    text = original_study.collapse_sentence(breaks)
    assert "does not follow" in text and "M2" in text and "M5" in text
    assert "every architecture collapsed" in original_study.collapse_sentence(_orig(["M1"], [10], [256], [0], [0.0]))


def test_batch_sentence_flips_with_the_verdict():
    scores = pd.DataFrame({"batch mixing": [0.5, 0.7], "bio conservation": [0.6, 0.6]}, index=["nb", "cond"])
    v = {"pca_mixing": 0.3, "null_mean": 0.6, "null_sd": 0.01, "threshold": 0.575, "pca_flagged": True}
    assert "a batch effect is detected" in real_cells.batch_sentence(scores, v, nb="nb", cond="cond")
    assert "below 0.575, the lower 95% prediction bound" in real_cells.batch_sentence(scores, v, nb="nb", cond="cond")
    no = real_cells.batch_sentence(scores, v | {"pca_flagged": False}, nb="nb", cond="cond")
    assert "no batch effect is detected" in no


def test_pick_names_a_missing_run():
    with pytest.raises(KeyError, match="M1 nb/raw \\+batch"):
        real_cells.pick([], "nb/raw", conditional=True)


def _f(**kw):
    base = dict(n_collapsed=5, n_original=5, nb_au=(10, 50), zinb_better=False, mixing_plain=(0.5, 0.51, 0.49),
                mixing_cond=0.8, pca_flagged=True, n_genes=2000)
    return side_by_side.Findings(**(base | kw))


def test_compare_findings_says_agree_or_differ_from_the_values():
    same = side_by_side.compare_findings(_f(), _f(), main_name="simulated data")
    assert len(same) == 5 and all("the two agree" in s for s in same)
    diff = side_by_side.compare_findings(_f(), _f(n_collapsed=2, zinb_better=True, pca_flagged=False,
                                              mixing_cond=0.52, nb_au=(1, 3)), main_name="simulated data")
    assert all("differ" in s for s in diff)
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


def test_batch_check_flags_the_pca_below_the_null_bound(monkeypatch):
    import anndata as ad

    monkeypatch.setattr(real_cells, "pca", lambda adata, **kw: None)
    monkeypatch.setattr(real_cells, "cached_scib_scores", lambda adata, key: {"batch mixing": 0.85})
    adata = ad.AnnData(np.zeros((4, 3)))
    monkeypatch.setattr(real_cells, "shuffled_null", lambda adata, key: np.array([0.89, 0.90, 0.91, 0.90, 0.90]))
    _, v = real_cells.batch_check(adata, {})
    assert v["pca_flagged"] and v["threshold"] == pytest.approx(0.9 - 2.132 * 0.00707 * np.sqrt(1.2), abs=1e-3)
    monkeypatch.setattr(real_cells, "shuffled_null", lambda adata, key: np.array([0.80, 0.90, 1.00, 0.90, 0.90]))
    assert not real_cells.batch_check(adata, {})[1]["pca_flagged"]  # a wider null: 0.85 is inside it


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


def test_scope_sentence_names_what_the_build_ran_on():
    import anndata as ad

    from cellvae.study.book.glue import scope_sentence

    sim = ad.AnnData(np.zeros((3, 2)), uns={"simulation": {"seed": 0}})
    assert "simulated data" in scope_sentence(sim)
    realfile = ad.AnnData(np.zeros((3, 2)), uns={"source": "the real file x.h5ad"})
    text = scope_sentence(realfile)
    assert "x.h5ad" in text and "simulated" not in text


def test_a_file_without_site_donor_or_second_batch_gets_notes(tmp_path, monkeypatch):
    from cellvae.datasets import bmmc_starter
    from cellvae.study.chapters.eda import design_sentence, design_table
    from cellvae.study.runner.bookdata import UNKNOWN, book_data

    raw = bmmc_starter()
    one = raw[raw.obs["batch"] == "s1d1"].copy()
    one.obs["batch"] = "lane1"  # no s<site>d<donor> name, so no site or donor can be derived
    path = tmp_path / "one_batch.h5ad"
    one.write_h5ad(path)
    monkeypatch.setenv("CELLVAE_DATA", str(path))
    adata = book_data()
    src = adata.uns["source"]
    assert "records no site or donor" in src and "a single batch" in src
    assert set(adata.obs["Site"]) == {UNKNOWN} == set(adata.obs["DonorNumber"])
    assert "records no site or donor" in design_sentence(design_table(adata))
    from cellvae.study.chapters.eda import design_counts

    assert design_counts(adata.obs).endswith("the file records no donor or site.")
    assert "9 donors processed at 4 sites, in 12 batches" in design_counts(pd.DataFrame({
        "DonorNumber": [f"d{i % 9}" for i in range(36)], "Site": [f"s{i % 4}" for i in range(36)],
        "batch": [f"b{i % 12}" for i in range(36)], "cell_type": ["t"] * 36}))
    monkeypatch.setenv("CELLVAE_DATA", str(tmp_path / "missing.h5ad"))
    full = tmp_path / "two.h5ad"
    raw.write_h5ad(full)
    monkeypatch.setenv("CELLVAE_DATA", str(full))
    assert "single batch" not in book_data().uns["source"]
