"""The simulator reproduces the BMMC study design, gives cycling cells their markers, and is seeded."""

from __future__ import annotations

import numpy as np
import pytest

from cellvae.data import REQUIRED_OBS
from cellvae.data.calibration import CC_G2M_GENES, CC_S_GENES, MEAN_COUNT
from cellvae.data.simulate import BATCHES, CELL_TYPES, simulate_bmmc
from cellvae.study.scoring.cellcycle import cycle_scores

GEO_OBS = ["GEX_n_genes_by_counts", "GEX_pct_counts_mt", "GEX_size_factors", "GEX_phase",
           "cell_type", "batch", "Site", "DonorNumber", "DonorID", "DonorAge", "DonorBMI",
           "DonorBloodType", "DonorRace", "Ethnicity", "DonorGender", "QCMeds", "DonorSmoker"]


@pytest.fixture(scope="module")
def big():
    return simulate_bmmc(20_000, 1000, seed=0)


def test_design(big):
    obs = big.obs
    assert obs["DonorNumber"].nunique() == 9
    assert obs["Site"].nunique() == 4
    assert sorted(obs["batch"].unique()) == sorted(BATCHES)
    assert obs["cell_type"].nunique() == len(CELL_TYPES) == 45
    sizes = obs["DonorNumber"].value_counts()
    assert sizes.idxmax() == "donor1" and sizes.iloc[0] > 2 * sizes.iloc[1]


def test_schema(big):
    for col in GEO_OBS + list(REQUIRED_OBS):
        assert col in big.obs, col
    assert set(big.var["feature_types"]) == {"GEX", "ADT"}
    assert big.uns["simulation"]["site_effect"] == 0.4


def test_count_statistics(big):
    gex = big.layers["counts"][:, (big.var["feature_types"] == "GEX").to_numpy()]
    zero = 1 - gex.nnz / np.prod(gex.shape)
    assert 0.85 < zero < 0.95
    assert 0.7 * MEAN_COUNT < gex.mean() < 1.3 * MEAN_COUNT  # the calibrated depth
    assert gex.max() > 100 * gex.mean()  # long right tail
    assert np.all(gex.data == np.round(gex.data))


def test_seed_reproduces():
    a, b = simulate_bmmc(500, 100, seed=7), simulate_bmmc(500, 100, seed=7)
    c = simulate_bmmc(500, 100, seed=8)
    assert (a.layers["counts"] != b.layers["counts"]).nnz == 0
    assert (a.obs["cell_type"] == b.obs["cell_type"]).all()
    assert (a.layers["counts"] != c.layers["counts"]).nnz > 0


def test_zero_effect_means_no_site_signal():
    null = simulate_bmmc(3000, 300, site_effect=0, donor_effect=0, seed=2)
    eff = simulate_bmmc(3000, 300, site_effect=1.0, donor_effect=0, seed=2)

    def site_spread(a):
        x = a.layers["counts"][:, :300].toarray()
        x = np.log1p(x / x.sum(1, keepdims=True) * 1e3)
        mono = (a.obs["cell_type"] == "CD14+ Mono").to_numpy()
        means = [x[mono & (a.obs["Site"] == s).to_numpy()].mean(0) for s in a.obs["Site"].cat.categories]
        return np.std(means, axis=0).mean()

    assert site_spread(eff) > 2 * site_spread(null)


def test_bad_arguments():
    with pytest.raises(ValueError, match="site_effect"):
        simulate_bmmc(100, 100, site_effect=-1)
    with pytest.raises(ValueError, match="at least 12 cells"):
        simulate_bmmc(5, 100)


def test_pseudotime_follows_the_erythroid_path(big):
    pt = big.obs["GEX_pseudotime_order"].to_numpy()
    assert np.all((pt >= 0) & (pt <= 1))
    ery = (big.obs["cell_type"].astype(str).map(lambda t: CELL_TYPES[t][0]) == "erythroid").to_numpy()
    assert np.std(pt[ery]) > 0.05  # cells spread along the lineage, not at one point
    gex = big.layers["counts"][:, (big.var["feature_types"] == "GEX").to_numpy()]
    hbb = np.asarray(gex[:, list(big.var_names).index("HBB")].todense()).ravel()
    share = hbb / np.asarray(gex.sum(1)).ravel().clip(1)
    # hemoglobin rises with pseudotime along the erythroid path (a rank correlation)
    rank = np.argsort(np.argsort(pt[ery]))
    assert np.corrcoef(rank, np.argsort(np.argsort(share[ery])))[0, 1] > 0.5


def test_ambient_rates_recorded_and_null_without_batch_signal():
    eff = simulate_bmmc(3000, 300, seed=3)
    rates = eff.uns["simulation"]["ambient_rates"]
    assert sorted(rates) == sorted(BATCHES) and len(set(rates.values())) == 12
    null = simulate_bmmc(3000, 300, site_effect=0, donor_effect=0, seed=3)
    assert len(set(null.uns["simulation"]["ambient_rates"].values())) == 1
    # in the null, mean expression per batch within a type differs only by sampling: permuting
    # the batch labels gives the same spread
    x = null.layers["counts"][:, :300].toarray()
    x = np.log1p(x / x.sum(1, keepdims=True) * 1e3)
    mono = (null.obs["cell_type"] == "CD14+ Mono").to_numpy()
    batch = null.obs["batch"].to_numpy()[mono]

    def spread(lab):
        return np.std([x[mono][lab == b].mean(0) for b in BATCHES], axis=0).mean()

    perm = np.mean([spread(np.random.default_rng(i).permutation(batch)) for i in range(5)])
    assert spread(batch) < 1.2 * perm


def test_dominant_genes_and_library_by_type(big):
    gex = big.layers["counts"][:, (big.var["feature_types"] == "GEX").to_numpy()]
    tot = np.asarray(gex.sum(0)).ravel()
    assert big.var_names[np.argmax(tot)] == "HBB"
    lib = np.asarray(gex.sum(1)).ravel()
    ct = big.obs["cell_type"].to_numpy()
    assert np.median(lib[ct == "Reticulocyte"]) > 2 * np.median(lib[ct == "CD14+ Mono"])


def test_simulator_gives_cycling_cells_their_markers():
    a = simulate_bmmc(1500, 400, seed=3)
    k = sum(g in a.var_names for g in CC_S_GENES)
    assert k > 0 and k == sum(g in a.var_names for g in CC_G2M_GENES)
    x = a.layers["counts"]
    lib = np.asarray(x.sum(1)).ravel()
    phase = a.obs["GEX_phase"].astype(str).to_numpy()
    for genes, ph in ((CC_S_GENES[:k], "S"), (CC_G2M_GENES[:k], "G2M")):
        idx = [a.var_names.get_loc(g) for g in genes]
        share = np.asarray(x[:, idx].sum(1)).ravel() / lib
        assert share[phase == ph].mean() > 1.5 * share[phase == "G1"].mean()
    sc = cycle_scores(a)
    assert sc is not None and sc[phase == "S", 0].mean() > sc[phase == "G1", 0].mean()
    assert sc[phase == "G2M", 1].mean() > sc[phase == "G1", 1].mean()


def test_the_simulators_truth_is_kept_per_gene_and_survives_preparation():
    from cellvae.data import prepare, simulate_bmmc

    none = simulate_bmmc(200, 120, site_effect=0.0, donor_effect=0.0, seed=0)
    some = simulate_bmmc(200, 120, site_effect=0.4, donor_effect=0.2, seed=0)
    gex = (some.var["feature_types"] == "GEX").to_numpy()
    assert (some.var.loc[gex, "sim_theta"] > 0).all() and some.var.loc[~gex, "sim_theta"].isna().all()
    assert (none.var.loc[gex, "sim_lfc_s1d1"] == 0).all() and some.var.loc[gex, "sim_lfc_s1d1"].abs().mean() > 0.05
    # the same site shares its shift: s1d1 and s1d2 correlate, s1d1 and s4d9 less
    r = np.corrcoef(some.var.loc[gex, "sim_lfc_s1d1"], some.var.loc[gex, "sim_lfc_s1d2"])[0, 1]
    r_far = np.corrcoef(some.var.loc[gex, "sim_lfc_s1d1"], some.var.loc[gex, "sim_lfc_s4d9"])[0, 1]
    assert r > r_far
    prepared = prepare(some, n_top_genes=50, seed=0)
    assert "sim_theta" in prepared.var and prepared.var["sim_theta"].notna().all()
