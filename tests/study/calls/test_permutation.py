"""On a real file each embedding is judged against its own label permutations, which it can pass."""

from __future__ import annotations

import anndata as ad
import numpy as np
import pandas as pd

from cellvae.study.calls.permutation import data_thresholds, null_text
from cellvae.study.calls.verdicts import AFFECTED, WELL, verdict_table
from cellvae.study.scoring.integration import BIO, MIXING


def _data(seed=0, n_types=8, per_type=40):
    rng = np.random.default_rng(seed)
    codes = np.repeat(np.arange(n_types), per_type)
    batch = rng.choice(np.array(["donorA", "donorB", "donorC"]), len(codes), p=[0.6, 0.3, 0.1])
    typed = rng.normal(scale=8.0, size=(n_types, 6))[codes] + rng.normal(size=(len(codes), 6))
    apart = typed + 6.0 * (batch == "donorA")[:, None]  # donor A moved away from the rest
    a = ad.AnnData(np.zeros((len(codes), 1), np.float32),
                   obs=pd.DataFrame({"batch": batch, "cell_type": [f"t{c}" for c in codes]}))
    a.obs_names = [f"c{i}" for i in range(a.n_obs)]
    a.obsm["mixed"], a.obsm["apart"] = typed.astype(np.float32), apart.astype(np.float32)
    return a


def test_own_permutation_thresholds_pass_a_mixed_embedding_and_fail_a_separated_one(tmp_path, monkeypatch):
    monkeypatch.setenv("CELLVAE_CACHE", str(tmp_path))
    a = _data()
    scores = pd.DataFrame({"scope": "all batches", "embedding": "random embedding", MIXING: 1.0,
                           BIO: [0.10, 0.12, 0.11, 0.09, 0.10]})
    thr = data_thresholds(a, {"mixed": "mixed", "apart": "apart"}, scores, mask=np.ones(a.n_obs, bool))
    t_mix = thr.loc[("all batches", "mixed", MIXING), "threshold"]
    assert 0.7 < t_mix < 1.0  # below the shuffles' own mean near 1: a mixed embedding can clear it
    assert thr.loc[("all batches", "mixed", BIO), "threshold"] > 0.12  # above every random draw
    from cellvae.study.scoring.fastscore import exact_neighbors, fast_scoring
    from cellvae.study.scoring.mixing import mixing_scores

    def reps(key):
        with fast_scoring():
            m = mixing_scores(exact_neighbors(a.obsm[key], 90), a.obs["batch"].to_numpy(),
                              a.obs["cell_type"].to_numpy(), n_shuffles=5)[MIXING]
        return [{"embedding": key, MIXING: m + d, BIO: 0.6 + d} for d in (-0.002, -0.001, 0, 0.001, 0.002)]

    v = verdict_table(pd.DataFrame(reps("mixed") + reps("apart")), {"mixed": "mixed", "apart": "apart"}, thr)
    assert list(v["verdict"]) == [WELL, AFFECTED]


def test_null_text_says_where_the_nulls_come_from():
    assert "simulations matched to this data (3,000 cells)" in null_text(simulated=True, n_seeds=5, size="3,000 cells")
    real = null_text(simulated=False, n_seeds=5, size="3,000 cells")
    assert "come from the data itself" in real and "permuted within cell type" in real


def test_a_scope_is_judged_by_its_own_column_within_its_own_cells(tmp_path, monkeypatch):
    from cellvae.study.chapters.batch_effects import _own_scope_thresholds

    monkeypatch.setenv("CELLVAE_CACHE", str(tmp_path))
    a = _data(per_type=60)
    rng = np.random.default_rng(1)
    a.obs["Site"] = rng.choice(["site1", "site2"], a.n_obs)
    a.obs["DonorNumber"] = np.where(a.obs["batch"] == "donorA", "donor1", "donor2")
    a.obs["DonorNumber"] = a.obs["DonorNumber"].where(rng.random(a.n_obs) < 0.5, "donor1")
    keys = {"PCA": "mixed", "our NB": "apart", "our NB +batch": "mixed"}
    scores = pd.DataFrame(columns=["scope", "embedding", MIXING, BIO])
    thr = _own_scope_thresholds(a, keys, scores, np.ones(a.n_obs, bool))
    assert sorted(set(thr.index.get_level_values(0))) == ["donor within site", "site within donor"]
    assert set(thr.index.get_level_values(1)) == set(keys)
    # the site scope permutes Site within its donor's cells, on the scope's own column
    from cellvae.study.calls.controls import scopes
    from cellvae.study.scoring.nulls import shuffle_null

    for scope, (m, col) in scopes(a).items():
        if scope == "all batches":
            continue
        own = shuffle_null(a, "mixed", batch_key=col, mask=m)
        other = shuffle_null(a, "mixed", batch_key="batch", mask=m)
        assert thr.loc[(scope, "PCA", MIXING), "mean"] == own.mean() != other.mean()
    a.obs["Site"] = "site1"  # one site: only the donors within it are a scope
    one = _own_scope_thresholds(a, keys, scores, np.ones(a.n_obs, bool))
    assert set(one.index.get_level_values(0)) == {"donor within site"}


def test_a_real_files_scope_table_reads_its_own_thresholds(tmp_path, monkeypatch):
    from cellvae.study.calls.permutation import OWN_NULL
    from cellvae.study.chapters.batch_effects import _scope_table

    sc = "donor within site"
    thr = pd.DataFrame({"mean": 1.0, "sd": 0.01, "n": 5, "threshold": [0.98, np.nan, 0.70, np.nan, 0.99, np.nan]},
                       index=pd.MultiIndex.from_tuples([(sc, "PCA", MIXING), (sc, "PCA", BIO),
                                                        (sc, "our NB +batch", MIXING), (sc, "our NB +batch", BIO),
                                                        (sc, "NB VAE", MIXING), (sc, "NB VAE", BIO)]))
    reps = pd.DataFrame({"scope": sc, "embedding": ["PCA"] * 5 + ["our NB +batch"] * 5,
                         MIXING: [0.80, 0.81, 0.79, 0.80, 0.82] * 2, BIO: 0.6})
    t = _scope_table(reps, thr, own=True).set_index("embedding")
    assert set(t["null"]) == {OWN_NULL}
    assert t.loc["PCA", "mixing threshold"] == 0.98 and t.loc["PCA", "mixing call"] == "below"
    # its own threshold (0.70), not the simulated NB VAE kind's (0.99): the same scores clear it
    assert t.loc["our NB +batch", "mixing threshold"] == 0.70 and t.loc["our NB +batch", "mixing call"] == "above"
    sim = _scope_table(reps, thr).set_index("embedding")
    assert sim.loc["our NB +batch", "mixing threshold"] == 0.99 and sim.loc["our NB +batch", "mixing call"] == "below"


def test_the_null_phrases_follow_the_data():
    from cellvae.study.calls.permutation import null_phrases

    assert "simulated" in null_phrases(simulated=True)["null_source"]
    real = null_phrases(simulated=False)
    assert "permuted" in real["null_source"] and "simulated" not in real["scope_null"]
