"""A seeded BMMC-like count simulator with the GSE194122 schema.

Design as in the NeurIPS 2021 CITE-seq BMMC study: 9 donors, 4 sites, the 12
site x donor batches (donor 1 sampled at every site, so it has the most cells),
and the 45 BMMC cell types in erythroid, myeloid, lymphoid and progenitor
lineages.  Each cell lies on its lineage's differentiation path (HSC -> erythroid, myeloid,
B and T; :data:`~cellvae.data.calibration.PARENT`) at a random position between its
parent type's anchor and its own, recorded as ``GEX_pseudotime_order``.  Counts are
negative binomial (gamma-Poisson) around ``library size x ((1 - a) x shares x batch
fold-changes + a x soup)``: named dominant genes (hemoglobins, MALAT1, MT-) hold fixed
shares, the rest a softmax of interpolated anchor logits; site and donor log-fold-changes
have a shared and a cell-type-specific part; ``a`` is each batch's ambient RNA rate and the
soup the population's average profile.  Cells in S or G2/M phase raise that phase's marker
genes (:data:`~cellvae.data.calibration.CC_LFC`).  ``site_effect`` / ``donor_effect`` are strengths:
0 and 0 give no batch effect at all.  The constants come from
:mod:`cellvae.data.calibration`, fitted to the shipped real starter by
``tools/calibrate_simulator.py``.  The truth goes in ``uns['simulation']`` so later
chapters can use it as a control.

Donor metadata are synthetic placeholders in the GEO column names, not the
real donors' values.
"""

from __future__ import annotations

import anndata as ad
import numpy as np
import pandas as pd
import scipy.sparse as sp
from tqdm import tqdm

from .calibration import (
    AMBIENT_LOG_SD,
    AMBIENT_RATE,
    BASELINE_SD,
    BATCHES,
    CC_G2M_GENES,
    CC_GENES,
    CC_LFC,
    CC_S_GENES,
    CELL_TYPES,
    COMPOSITION_CONCENTRATION,
    CYCLING_TYPES,
    DOMINANT,
    DONOR_SD,
    ERY_MATURITY,
    LIB_LOG_SD,
    LIB_REL,
    MEAN_COUNT,
    MT_GENES,
    PARENT,
    PHASE_P,
    STEP_FRAC,
    STEP_SD,
    THETA_LOG_SD,
    THETA_MEDIAN,
    TYPE_SPECIFIC,
)

__all__ = ["BATCHES", "CELL_TYPES", "describe", "simulate_bmmc"]

# Synthetic donor metadata (GEO column names; values are placeholders).
_DONORS = pd.DataFrame({
    "DonorNumber": [f"donor{i}" for i in range(1, 10)],
    "DonorID": [15078, 10886, 18303, 13272, 28045, 15557, 19593, 20010, 32606],
    "DonorAge": [34, 35, 29, 40, 37, 22, 27, 45, 31],
    "DonorBMI": [24.8, 28.6, 22.1, 31.2, 25.3, 23.9, 27.4, 29.0, 21.7],
    "DonorBloodType": ["B+", "O+", "A+", "O-", "A+", "O+", "AB+", "B-", "A-"],
    "DonorRace": ["White", "Asian", "Black or African American", "White", "White",
                  "More than one race", "White", "Asian", "White"],
    "Ethnicity": [("" if h else "NOT ") + "HISPANIC OR LATINO" for h in (1, 0, 0, 0, 1, 0, 0, 1, 0)],
    "DonorGender": ["Male", "Female", "Female", "Male", "Male", "Female", "Male", "Female", "Male"],
    "QCMeds": [False, False, True, False, False, False, True, False, False],
    "DonorSmoker": ["Nonsmoker", "Nonsmoker", "Smoker", "Nonsmoker", "Nonsmoker", "Nonsmoker",
                    "Former smoker", "Nonsmoker", "Nonsmoker"],
})
_N_MT = len(MT_GENES)
_N_ADT = 8
_U_MIN = 0.25  # a cell lies at u in [_U_MIN, 1] of the way from its parent's anchor to its type's (assumed)
_COMP_FLOOR = 0.25  # every donor keeps at least this fraction of each type's abundance (assumed)


def _anchors(rng, n_genes: int):
    """Type anchors along the tree: rest-gene logits (45, R), dominant shares (45, K), log library."""
    types = list(CELL_TYPES)
    named = [g for g in DOMINANT if g != "MT-"]
    logits = {None: rng.normal(0.0, BASELINE_SD, n_genes - _N_MT - len(named)).astype(np.float32)}
    for t in types:  # one sparse step program per tree edge, drawn in CELL_TYPES order
        step = np.zeros_like(logits[None])
        idx = rng.choice(step.size, max(1, int(STEP_FRAC * step.size)), replace=False)
        step[idx] = rng.normal(0.0, STEP_SD, idx.size)
        logits[t] = step

    def cumulative(t):
        return logits[None] if t is None else cumulative(PARENT[t]) + logits[t] * (t != "HSC")

    rest = np.stack([cumulative(t) for t in types])
    mt_w = rng.dirichlet(np.full(_N_MT, 4.0))
    lo, hi = (np.concatenate([DOMINANT["MT-"][i] * mt_w, [DOMINANT[g][i] for g in named]]) for i in (0, 1))
    m = np.array([ERY_MATURITY.get(t, 0.0) for t in types])[:, None]
    dom = (lo + m * (hi - lo)).astype(np.float32)
    loglib = np.log([LIB_REL[CELL_TYPES[t][1]] for t in types])
    return rest, dom, loglib, named


def _design(rng, n_cells: int) -> pd.DataFrame:
    """Cells' batch and cell type; donors differ in composition (Dirichlet around the abundances)."""
    names = list(BATCHES)
    w = np.array(list(BATCHES.values()))
    batch = rng.choice(len(names), n_cells, p=w / w.sum())
    base = np.array([v[2] for v in CELL_TYPES.values()])
    base = base / base.sum()
    # a floor of _COMP_FLOOR x the abundance keeps every type in every donor; the Dirichlet's own
    # concentration is raised so that the mixture's variance matches COMPOSITION_CONCENTRATION
    conc = (COMPOSITION_CONCENTRATION + 1) * (1 - _COMP_FLOOR) ** 2 - 1
    donor_props = {d: _COMP_FLOOR * base + (1 - _COMP_FLOOR) * rng.dirichlet(base * conc)
                   for d in range(1, 10)}
    ctype = np.empty(n_cells, dtype=np.int64)
    for b, name in enumerate(names):
        idx = np.flatnonzero(batch == b)
        p = donor_props[int(name.split("d")[1])]
        ctype[idx] = rng.choice(len(base), idx.size, p=p / p.sum())
    obs = pd.DataFrame({"batch": np.asarray(names)[batch], "cell_type": np.asarray(list(CELL_TYPES))[ctype]})
    obs["Site"] = "site" + obs["batch"].str[1]
    obs["DonorNumber"] = "donor" + obs["batch"].str.split("d").str[1]
    return obs


def _batch_lfc(rng, n_genes: int, site_effect: float, donor_effect: float) -> np.ndarray:
    """exp(site + donor log-fold-change) per (batch, type): (12 * 45, n_genes), shared + type-specific."""
    n_t, a, b = len(CELL_TYPES), np.sqrt(1 - TYPE_SPECIFIC), np.sqrt(TYPE_SPECIFIC)
    site = a * rng.normal(0, 1, (4, 1, n_genes)) + b * rng.normal(0, 1, (4, n_t, n_genes))
    donor = a * rng.normal(0, 1, (9, 1, n_genes)) + b * rng.normal(0, 1, (9, n_t, n_genes))
    sd = np.array([DONOR_SD[v[0]] for v in CELL_TYPES.values()])[None, :, None] / 0.2
    out = np.empty((len(BATCHES), n_t, n_genes), dtype=np.float32)
    for i, name in enumerate(BATCHES):
        s, d = int(name[1]) - 1, int(name.split("d")[1]) - 1
        out[i] = np.exp(site_effect * site[s] + donor_effect * sd[0] * donor[d])
    return out.reshape(-1, n_genes)


def simulate_bmmc(
    n_cells: int = 90_260,
    n_genes: int = 5000,
    *,
    site_effect: float = 0.4,
    donor_effect: float = 0.2,
    mean_count: float = MEAN_COUNT,
    seed: int = 0,
    chunk_size: int = 4096,
    progress: bool = False,
) -> ad.AnnData:
    """Simulate BMMC-like CITE-seq gene expression in the GSE194122 schema.

    Parameters
    ----------
    n_cells, n_genes
        Size of the GEX matrix (8 ADT features are appended, as in the GEO file).
    site_effect, donor_effect
        Strength of the site / donor effects: the s.d. of per-gene log-fold-changes (donors'
        scaled per lineage, :data:`~cellvae.data.calibration.DONOR_SD`), the site shifts of
        library size and the spread of the batches' ambient RNA rates; 0 and 0 is no batch effect.
    mean_count
        Target mean raw count per gene and cell; the default, fitted at 5,000 genes, gives the
        starter's median library over its 1,000 most expressed genes.
    seed
        Seeds every random draw.
    chunk_size
        Cells drawn per dense block; the full matrix is never densified.
    progress
        Show a progress bar over blocks.

    Returns
    -------
    anndata.AnnData
        AnnData with ``layers['counts']`` (CSR, integer-valued float32), log-normalised
        ``X``, the GEO obs columns (with ``GEX_pseudotime_order``), ``var['feature_types']``
        and ``uns['simulation']`` (the parameters and each batch's ambient rate).

    Raises
    ------
    ValueError
        If ``n_cells < 12`` or ``n_genes < 50``, if ``site_effect`` or ``donor_effect``
        is negative, or if ``mean_count <= 0``.
    """
    if n_cells < 12 or n_genes < 50:
        raise ValueError(f"need at least 12 cells and 50 genes, got {n_cells} x {n_genes}")
    if site_effect < 0 or donor_effect < 0 or mean_count <= 0:
        raise ValueError("site_effect and donor_effect must be >= 0 and mean_count > 0")
    rng = np.random.default_rng(seed)
    rest, dom, loglib, named = _anchors(rng, n_genes)
    batch_fc = _batch_lfc(rng, n_genes, site_effect, donor_effect) if site_effect or donor_effect else None
    theta = np.exp(rng.normal(np.log(THETA_MEDIAN), THETA_LOG_SD, n_genes)).astype(np.float32)
    ambient = np.minimum(AMBIENT_RATE * np.exp(site_effect * AMBIENT_LOG_SD * rng.normal(0, 1, 12)), 0.5)
    obs = _design(rng, n_cells)
    types = list(CELL_TYPES)
    t_idx = pd.Categorical(obs["cell_type"], categories=types).codes.astype(np.int64)
    p_idx = np.array([types.index(PARENT[t] or t) for t in types])[t_idx]
    b_idx = pd.Categorical(obs["batch"], categories=list(BATCHES)).codes.astype(np.int64)
    u = rng.uniform(_U_MIN, 1.0, n_cells).astype(np.float32)
    depth = np.array([_depth(t) for t in types])
    obs["GEX_pseudotime_order"] = np.where(depth[t_idx] > 0, (depth[t_idx] - 1 + u) / depth.max(), 0.0)
    phase, k = _phases(obs, seed), _n_cycle(n_genes, len(named))
    rest[:, :2 * k] = np.minimum(rest[:, :2 * k], BASELINE_SD)  # markers at most 1 s.d. above the mean (assumed)
    # anchors as shares; the soup is the population's expected profile (hemoglobin dominated)
    anchor = _shares(rest, dom)
    w = np.array([v[2] for v in CELL_TYPES.values()]) * np.exp(loglib)
    soup = (w / w.sum()) @ anchor
    site_lib = np.array([0.0, 0.25, -0.2, 0.1]) * site_effect / 0.4
    s_idx = obs["Site"].str[4:].astype(int).to_numpy() - 1
    log_lib = loglib[t_idx] + site_lib[s_idx] + rng.normal(0, LIB_LOG_SD, n_cells)
    pn = np.array([v[2] for v in CELL_TYPES.values()])
    expected = (pn / pn.sum()) @ np.exp(loglib + LIB_LOG_SD**2 / 2)
    lib = (mean_count * n_genes * np.exp(log_lib) / expected).astype(np.float32)
    blocks = []
    for start in tqdm(range(0, n_cells, chunk_size), disable=not progress, desc="simulating"):
        sl = slice(start, start + chunk_size)
        uu = u[sl, None]
        logit = rest[p_idx[sl]] * (1 - uu) + rest[t_idx[sl]] * uu
        logit[:, :k] += CC_LFC * (phase[sl, None] == 1)  # S-phase markers in S cells
        logit[:, k:2 * k] += CC_LFC * (phase[sl, None] == 2)  # G2/M markers in G2/M cells
        rho = _shares(logit, dom[p_idx[sl]] * (1 - uu) + dom[t_idx[sl]] * uu)
        if batch_fc is not None:
            rho *= batch_fc[b_idx[sl] * len(types) + t_idx[sl]]
            rho /= rho.sum(axis=1, keepdims=True)
        a = ambient[b_idx[sl], None].astype(np.float32)
        mu = ((1 - a) * rho + a * soup) * lib[sl, None]
        lam = rng.standard_gamma(theta, size=mu.shape, dtype=np.float32) * (mu / theta)
        blocks.append(sp.csr_matrix(rng.poisson(lam).astype(np.float32)))
    gex = sp.vstack(blocks, format="csr")
    adt = sp.csr_matrix(rng.poisson(20.0, (n_cells, _N_ADT)).astype(np.float32))
    counts = sp.hstack([gex, adt], format="csr")
    obs["GEX_phase"] = np.array(["G1", "S", "G2M"])[phase]
    adata = _assemble(counts, obs, n_genes, named, k, dict(
        site_effect=float(site_effect), donor_effect=float(donor_effect), seed=int(seed),
        n_cells=int(n_cells), n_genes=int(n_genes), mean_count=float(mean_count),
        ambient_rates={b: float(r) for b, r in zip(BATCHES, ambient)}, calibration="bmmc_starter"))
    _record_truth(adata, theta, batch_fc, n_genes)
    return adata


def _record_truth(adata: ad.AnnData, theta: np.ndarray, batch_fc: np.ndarray | None, n_genes: int) -> None:
    """The simulator's own per-gene truth, in ``var``: the NB inverse dispersion ``sim_theta`` and,
    per batch, the injected log-fold-change averaged over cell types, ``sim_lfc_<batch>`` (0 without
    effects; NaN on ADT features).  Models' estimates are compared with these on simulated data."""
    pad = np.full(adata.n_vars - n_genes, np.nan, np.float32)
    adata.var["sim_theta"] = np.concatenate([theta, pad])
    lfc = (np.zeros((len(BATCHES), n_genes), np.float32) if batch_fc is None else
           np.log(batch_fc).reshape(len(BATCHES), len(CELL_TYPES), n_genes).mean(axis=1))
    for i, b in enumerate(BATCHES):
        adata.var[f"sim_lfc_{b}"] = np.concatenate([lfc[i], pad])


def _depth(t: str | None) -> int:
    return 0 if PARENT.get(t) is None else 1 + _depth(PARENT[t])


def _shares(rest: np.ndarray, dom: np.ndarray) -> np.ndarray:
    """Expression shares: dominant genes (MT- first) at their shares, the rest a softmax of the remainder."""
    e = np.exp(rest - rest.max(axis=-1, keepdims=True))
    e *= (1 - dom.sum(axis=-1, keepdims=True)) / e.sum(axis=-1, keepdims=True)
    return np.concatenate([dom, e], axis=-1).astype(np.float32)


def _phases(obs: pd.DataFrame, seed: int) -> np.ndarray:
    """Each cell's phase, 0 G1, 1 S, 2 G2M, from its own stream so the counts' draws stay put."""
    p = np.where(obs["cell_type"].isin(CYCLING_TYPES).to_numpy()[:, None], PHASE_P["cycling"], PHASE_P["other"])
    r = np.random.default_rng([seed, 1]).random(len(obs))
    return (r[:, None] > np.cumsum(p, axis=1)).sum(1)


def _n_cycle(n_genes: int, n_named: int) -> int:
    """Markers per phase: CC_GENES, fewer where the synthetic genes are few."""
    return min(CC_GENES, (n_genes - _N_MT - n_named) // 4)


def _assemble(counts, obs, n_genes, named, k, truth) -> ad.AnnData:
    """Attach QC, donor metadata and var columns in the GEO schema (``k`` cell-cycle markers per phase)."""
    gex = counts[:, :n_genes]
    n_syn = n_genes - _N_MT - len(named) - 2 * k
    names = MT_GENES + named + CC_S_GENES[:k] + CC_G2M_GENES[:k] + [f"SIMG{i:05d}" for i in range(n_syn)]
    lib = np.asarray(gex.sum(1)).ravel()
    obs["GEX_n_genes_by_counts"] = np.diff(gex.indptr).astype(np.int32)
    obs["GEX_pct_counts_mt"] = 100 * np.asarray(gex[:, :_N_MT].sum(1)).ravel() / np.maximum(lib, 1)
    obs["GEX_size_factors"] = np.maximum(lib, 1) / np.maximum(lib, 1).mean()
    obs = obs.merge(_DONORS, on="DonorNumber", how="left")
    obs.index = [f"cell{i:06d}-{b}" for i, b in enumerate(obs["batch"])]
    for col in ["batch", "cell_type", "Site", "DonorNumber", "GEX_phase", "DonorBloodType",
                "DonorRace", "Ethnicity", "DonorGender", "DonorSmoker"]:
        obs[col] = pd.Categorical(obs[col])
    var = pd.DataFrame(
        {"feature_types": ["GEX"] * n_genes + ["ADT"] * _N_ADT},
        index=names + [f"ADT-CD{i}" for i in range(_N_ADT)],
    )
    var["gene_id"] = [f"SIMENSG{i:08d}" for i in range(len(var))]
    adata = ad.AnnData(X=counts.copy(), obs=obs, var=var, layers={"counts": counts})
    sf = adata.obs["GEX_size_factors"].to_numpy(np.float32)
    adata.X = sp.csr_matrix(sp.diags(1 / sf) @ adata.X)
    adata.X.data = np.log1p(adata.X.data)
    adata.uns["simulation"] = truth
    return adata


def describe(truth: dict) -> str:
    """One line naming the simulation parameters, for the report's banners.

    Parameters
    ----------
    truth
        The ``uns['simulation']`` dict of :func:`simulate_bmmc` output; needs the keys
        ``n_cells``, ``n_genes``, ``site_effect``, ``donor_effect`` and ``seed``.

    Returns
    -------
    str
        A human-readable one-line description.
    """
    return (f"simulated BMMC-like data ({truth['n_cells']:,} cells x {truth['n_genes']:,} genes, "
            f"site effect {truth['site_effect']:g}, donor effect {truth['donor_effect']:g}, "
            f"seed {truth['seed']})")
