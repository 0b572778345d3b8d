"""Donor apart from batch: the biology genes, depth matching, and the sentence that says what remains."""

import anndata as ad
import numpy as np
import pandas as pd
import scipy.sparse as sp

from cellvae.study.calls import donors


def test_biology_genes_are_sex_hla_and_haemoglobin_only():
    a = ad.AnnData(np.zeros((1, 7)), var=pd.DataFrame(index=["HBB", "HBA2", "HLA-DRA", "XIST", "RPS4Y1", "HBEGF",
                                                             "CD3E"]))
    assert donors.biology_genes(a) == ["HBB", "HBA2", "HLA-DRA", "XIST", "RPS4Y1"]  # HBEGF is no haemoglobin


def test_depth_matched_thins_the_deeper_donor_to_the_shallower_median():
    rng = np.random.default_rng(0)
    counts = np.vstack([rng.poisson(10, (200, 50)), rng.poisson(30, (200, 50))])
    a = ad.AnnData(np.zeros(counts.shape), obs=pd.DataFrame({"batch": ["d1"] * 200 + ["d2"] * 200},
                                                           index=[f"c{i}" for i in range(400)]))
    a.layers["counts"] = sp.csr_matrix(counts.astype(np.float32))
    out = donors.depth_matched(a)
    lib = np.asarray(out.layers["counts"].sum(axis=1)).ravel()
    assert abs(np.median(lib[200:]) / np.median(lib[:200]) - 1) < 0.05  # was 3x
    assert np.array_equal(out.layers["counts"][:200].toarray(), counts[:200])  # the shallower one is untouched
    assert np.array_equal(a.layers["counts"].toarray(), counts)  # the input is left as it was


def _table(*detected):
    return pd.DataFrame({"Batch mixing": [0.7, 0.8, 0.75, 0.9], "threshold": [0.85] * 4, "detected": list(detected)},
                        index=list(donors.VARIANTS))


def test_donor_sentence_says_which_part_explains_the_signal():
    assert "**The donor difference remains**" in donors.donor_sentence(_table(True, True, True, True), ["HBB"])
    gone = donors.donor_sentence(_table(True, False, True, False), ["HBB"])
    assert "no longer detected** once without sex, HLA and haemoglobin genes" in gone
    both = donors.donor_sentence(_table(True, True, True, False), [])
    assert "once the two together" in both and "none of them is in this panel" in both
    assert "No donor difference is detected to begin with" in donors.donor_sentence(_table(False, False, False, False), [])
