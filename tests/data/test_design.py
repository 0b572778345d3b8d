"""What a file's columns mean: said by the user, guessed otherwise, and one-line errors."""

from __future__ import annotations

import anndata as ad
import numpy as np
import pandas as pd
import pytest

from cellvae.data import DataError, resolve_design


def _file(obs: dict) -> ad.AnnData:
    return ad.AnnData(np.zeros((len(next(iter(obs.values()))), 2), dtype=np.float32), obs=pd.DataFrame(obs))


def test_the_starter_design_is_guessed_from_its_batch_names():
    a = _file({"batch": ["s1d1", "s1d2", "s1d1"], "cell_type": ["B", "T", "T"]})
    d = resolve_design(a, settings={})
    assert (d.batch, d.cell_type, d.donor, d.site, d.batch_is) == ("batch", "cell_type", "DonorNumber", "Site", "donor")
    assert list(a.obs["DonorNumber"]) == ["donor1", "donor2", "donor1"]
    starter = _file({"batch": ["s1d1", "s1d2"], "cell_type": ["B", "T"], "n_genes_by_counts": [5, 6]})
    assert resolve_design(starter, settings={}).batch_is == "donor"  # its columns renamed, obs replaced
    assert "GEX_n_genes_by_counts" in starter.obs and "DonorNumber" in starter.obs
    two_sites = _file({"batch": ["s1d1", "s2d1"], "cell_type": ["B", "T"]})
    assert resolve_design(two_sites, settings={}).batch_is == "site x donor"


def test_a_users_file_with_renamed_columns_and_pooled_donors():
    a = _file({"sample_id": ["A", "B", "A"], "celltype": ["B", "T", "T"]})
    guessed = resolve_design(a.copy(), settings={})
    assert (guessed.batch, guessed.cell_type, guessed.donor, guessed.batch_is) == ("sample_id", "celltype", None, "lane")
    assert "guessed" in guessed.how["batch"] and "CELLVAE_BATCH_IS" in guessed.sentence()
    said = resolve_design(a, settings={"CELLVAE_BATCH_IS": "pooled donors"})
    assert said.batch_is == "pooled donors" and said.donor == "sample_id" and "Site" not in a.obs
    assert list(a.obs["batch"]) == list(a.obs["DonorNumber"]) == ["A", "B", "A"]
    assert a.uns["design"]["site"] == "" and "set by CELLVAE_BATCH_IS" in said.sentence()


def test_a_donor_column_that_matches_the_batches_makes_them_donors():
    a = _file({"batch": ["l1", "l2"], "donor": ["x", "y"], "cell_type": ["B", "T"]})
    assert resolve_design(a, settings={}).batch_is == "donor"
    b = _file({"batch": ["l1", "l1"], "donor": ["x", "y"], "cell_type": ["B", "T"]})
    assert resolve_design(b, settings={}).batch_is == "lane"


def test_the_user_overrides_a_guess():
    a = _file({"batch": ["1", "2"], "lane": ["a", "a"], "cell_type": ["B", "T"], "fine": ["b1", "t1"]})
    d = resolve_design(a, settings={"CELLVAE_BATCH_KEY": "lane", "CELLVAE_CELL_TYPE_KEY": "fine"})
    assert d.batch == "lane" and list(a.obs["batch"]) == ["a", "a"] and list(a.obs["cell_type"]) == ["b1", "t1"]
    assert d.how["batch"] == "set by CELLVAE_BATCH_KEY"


@pytest.mark.parametrize(("obs", "settings", "says"), [
    ({"batch": ["a"], "cell_type": ["B"]}, {"CELLVAE_DONOR_KEY": "patient"}, "CELLVAE_DONOR_KEY='patient'"),
    ({"batch": ["a"], "cell_type": ["B"]}, {"CELLVAE_BATCH_IS": "plate"}, "not one of"),
    ({"group": ["a"], "cell_type": ["B"]}, {}, "no batch column found"),
    ({"batch": ["a"], "label": ["B"]}, {}, "no cell-type column found"),
])
def test_a_bad_setting_is_a_one_line_error(obs, settings, says):
    with pytest.raises(DataError, match=says) as err:
        resolve_design(_file(obs), settings=settings)
    assert "\n" not in str(err.value)
