"""A seeded BMMC-like count simulator with the GSE194122 schema.

Design as in the NeurIPS 2021 CITE-seq BMMC study: 9 donors, 4 sites, the 12
site x donor batches (donor 1 sampled at every site, so it has the most cells),
and the 45 BMMC cell types in erythroid, myeloid, lymphoid and progenitor
lineages.  Counts are negative binomial (gamma-Poisson) around
``library size x softmax(gene baseline + lineage + sub-lineage + type + site + donor)``.
Site and donor effects are per-gene log-fold-changes with standard deviation
``site_effect`` / ``donor_effect``; 0 means none.  The truth goes in
``uns['simulation']`` so later chapters can use it as a control.

Donor metadata are synthetic placeholders in the GEO column names, not the
real donors' values.
"""

from __future__ import annotations

import anndata as ad
import numpy as np
import pandas as pd
import scipy.sparse as sp
from tqdm import tqdm

# name: (lineage, sub-lineage, relative abundance in BMMC)
CELL_TYPES: dict[str, tuple[str, str, float]] = {
    "HSC": ("progenitor", "stem", 1.0), "Lymph prog": ("progenitor", "lymphoid prog", 1.2),
    "G/M prog": ("progenitor", "myeloid prog", 1.0), "MK/E prog": ("progenitor", "erythroid prog", 0.8),
    "T prog cycling": ("progenitor", "lymphoid prog", 0.3),
    "Proerythroblast": ("erythroid", "early erythroid", 1.5), "Erythroblast": ("erythroid", "early erythroid", 3.5),
    "Normoblast": ("erythroid", "late erythroid", 2.0), "Reticulocyte": ("erythroid", "late erythroid", 4.0),
    "CD14+ Mono": ("myeloid", "monocyte", 21.0), "CD16+ Mono": ("myeloid", "monocyte", 1.5),
    "cDC1": ("myeloid", "dendritic", 0.2), "cDC2": ("myeloid", "dendritic", 0.8), "pDC": ("myeloid", "dendritic", 1.0),
    "Transitional B": ("lymphoid", "B", 1.5), "Naive CD20+ B IGKC+": ("lymphoid", "B", 3.5),
    "Naive CD20+ B IGKC-": ("lymphoid", "B", 2.5), "B1 B IGKC+": ("lymphoid", "B", 0.8),
    "B1 B IGKC-": ("lymphoid", "B", 0.6), "Plasmablast IGKC+": ("lymphoid", "plasma", 0.15),
    "Plasmablast IGKC-": ("lymphoid", "plasma", 0.1), "Plasma cell IGKC+": ("lymphoid", "plasma", 0.15),
    "Plasma cell IGKC-": ("lymphoid", "plasma", 0.1), "CD4+ T naive": ("lymphoid", "CD4 T", 5.0),
    "CD4+ T activated": ("lymphoid", "CD4 T", 6.0), "CD4+ T activated integrinB7+": ("lymphoid", "CD4 T", 1.3),
    "CD4+ T CD314+ CD45RA+": ("lymphoid", "CD4 T", 0.7), "T reg": ("lymphoid", "CD4 T", 0.5),
    "CD8+ T naive": ("lymphoid", "CD8 T", 2.0), "CD8+ T naive CD127+ CD26- CD101-": ("lymphoid", "CD8 T", 0.3),
    "CD8+ T CD49f+": ("lymphoid", "CD8 T", 0.7), "CD8+ T CD57+ CD45RA+": ("lymphoid", "CD8 T", 0.8),
    "CD8+ T CD57+ CD45RO+": ("lymphoid", "CD8 T", 0.8), "CD8+ T CD69+ CD45RA+": ("lymphoid", "CD8 T", 0.5),
    "CD8+ T CD69+ CD45RO+": ("lymphoid", "CD8 T", 1.0), "CD8+ T TIGIT+ CD45RA+": ("lymphoid", "CD8 T", 0.3),
    "CD8+ T TIGIT+ CD45RO+": ("lymphoid", "CD8 T", 0.4), "MAIT": ("lymphoid", "innate T", 0.7),
    "gdT CD158b+": ("lymphoid", "innate T", 0.7), "gdT TCRVD2+": ("lymphoid", "innate T", 0.4),
    "dnT": ("lymphoid", "innate T", 0.3), "NK": ("lymphoid", "NK/ILC", 3.5),
    "NK CD158e1+": ("lymphoid", "NK/ILC", 1.4), "ILC": ("lymphoid", "NK/ILC", 0.7),
    "ILC1": ("lymphoid", "NK/ILC", 0.5),
}
# The 12 site x donor batches of the CITE-seq BMMC data, with relative sizes.
BATCHES: dict[str, float] = {
    "s1d1": 1.0, "s1d2": 0.9, "s1d3": 0.8, "s2d1": 1.1, "s2d4": 0.8, "s2d5": 0.7,
    "s3d1": 1.2, "s3d6": 1.0, "s3d7": 1.3, "s4d1": 0.9, "s4d8": 1.1, "s4d9": 0.8,
}
# Synthetic donor metadata (GEO column names; values are placeholders).
_DONORS = pd.DataFrame({
    "DonorNumber": [f"donor{i}" for i in range(1, 10)],
    "DonorID": [15078, 10886, 18303, 13272, 28045, 15557, 19593, 20010, 32606],
    "DonorAge": [34, 35, 29, 40, 37, 22, 27, 45, 31],
    "DonorBMI": [24.8, 28.6, 22.1, 31.2, 25.3, 23.9, 27.4, 29.0, 21.7],
    "DonorBloodType": ["B+", "O+", "A+", "O-", "A+", "O+", "AB+", "B-", "A-"],
    "DonorRace": ["White", "Asian", "Black or African American", "White", "White",
                  "More than one race", "White", "Asian", "White"],
    "Ethnicity": ["HISPANIC OR LATINO", "NOT HISPANIC OR LATINO", "NOT HISPANIC OR LATINO",
                  "NOT HISPANIC OR LATINO", "HISPANIC OR LATINO", "NOT HISPANIC OR LATINO",
                  "NOT HISPANIC OR LATINO", "HISPANIC OR LATINO", "NOT HISPANIC OR LATINO"],
    "DonorGender": ["Male", "Female", "Female", "Male", "Male", "Female", "Male", "Female", "Male"],
    "QCMeds": [False, False, True, False, False, False, True, False, False],
    "DonorSmoker": ["Nonsmoker", "Nonsmoker", "Smoker", "Nonsmoker", "Nonsmoker", "Nonsmoker",
                    "Former smoker", "Nonsmoker", "Nonsmoker"],
})
_N_MT = 13
_N_ADT = 8


def _programs(rng, n_genes: int, groups, *, frac: float, scale: float) -> dict[str, np.ndarray]:
    """A sparse log-fold-change vector over genes for each group name."""
    out = {}
    for g in groups:
        v = np.zeros(n_genes, dtype=np.float32)
        idx = rng.choice(n_genes, max(1, int(frac * n_genes)), replace=False)
        v[idx] = rng.normal(0.0, scale, idx.size)
        out[g] = v
    return out


def _type_logits(rng, n_genes: int) -> np.ndarray:
    """Gene baseline plus lineage, sub-lineage and type programs: (45, n_genes)."""
    base = rng.normal(0.0, 2.4, n_genes).astype(np.float32)
    lin = _programs(rng, n_genes, sorted({v[0] for v in CELL_TYPES.values()}), frac=0.15, scale=1.2)
    sub = _programs(rng, n_genes, sorted({v[1] for v in CELL_TYPES.values()}), frac=0.08, scale=1.0)
    typ = _programs(rng, n_genes, list(CELL_TYPES), frac=0.03, scale=1.0)
    return np.stack([base + lin[a] + sub[b] + typ[t] for t, (a, b, _) in CELL_TYPES.items()])


def _design(rng, n_cells: int) -> pd.DataFrame:
    """Cells' batch and cell type; donors differ a little in composition."""
    names = list(BATCHES)
    w = np.array(list(BATCHES.values()))
    batch = rng.choice(len(names), n_cells, p=w / w.sum())
    base = np.array([v[2] for v in CELL_TYPES.values()])
    donor_props = {d: rng.dirichlet(base / base.sum() * 200) for d in range(1, 10)}
    ctype = np.empty(n_cells, dtype=np.int64)
    for b, name in enumerate(names):
        idx = np.flatnonzero(batch == b)
        ctype[idx] = rng.choice(len(base), idx.size, p=donor_props[int(name.split("d")[1])])
    obs = pd.DataFrame({"batch": np.asarray(names)[batch], "cell_type": np.asarray(list(CELL_TYPES))[ctype]})
    obs["Site"] = "site" + obs["batch"].str[1]
    obs["DonorNumber"] = "donor" + obs["batch"].str.split("d").str[1]
    return obs


def simulate_bmmc(
    n_cells: int = 90_260,
    n_genes: int = 5000,
    *,
    site_effect: float = 0.4,
    donor_effect: float = 0.2,
    mean_count: float = 0.4,
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
        Standard deviation of per-gene log-fold-changes for each site / donor; 0 is none.
    mean_count
        Target mean raw count per gene and cell (about 0.4 for 5000 HVGs of BMMC).
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
        ``X``, the GEO obs columns, ``var['feature_types']`` and ``uns['simulation']``.

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
    logits_t = _type_logits(rng, n_genes)
    site_lfc = rng.normal(0, 1, (4, n_genes)).astype(np.float32) * site_effect
    donor_lfc = rng.normal(0, 1, (9, n_genes)).astype(np.float32) * donor_effect
    theta = np.exp(rng.normal(np.log(1.2), 0.6, n_genes)).astype(np.float32)
    obs = _design(rng, n_cells)
    t_idx = pd.Categorical(obs["cell_type"], categories=list(CELL_TYPES)).codes
    s_idx = obs["Site"].str[4:].astype(int).to_numpy() - 1
    d_idx = obs["DonorNumber"].str[5:].astype(int).to_numpy() - 1
    site_lib = np.array([0.0, 0.25, -0.2, 0.1]) * (site_effect > 0)
    lib = np.exp(rng.normal(np.log(mean_count * n_genes) + site_lib[s_idx], 0.45)).astype(np.float32)
    blocks = []
    for start in tqdm(range(0, n_cells, chunk_size), disable=not progress, desc="simulating"):
        sl = slice(start, start + chunk_size)
        eta = logits_t[t_idx[sl]] + site_lfc[s_idx[sl]] + donor_lfc[d_idx[sl]]
        eta -= eta.max(axis=1, keepdims=True)
        rho = np.exp(eta)
        rho /= rho.sum(axis=1, keepdims=True)
        mu = rho * lib[sl, None]
        lam = rng.standard_gamma(theta, size=mu.shape, dtype=np.float32) * (mu / theta)
        blocks.append(sp.csr_matrix(rng.poisson(lam).astype(np.float32)))
    gex = sp.vstack(blocks, format="csr")
    adt = sp.csr_matrix(rng.poisson(20.0, (n_cells, _N_ADT)).astype(np.float32))
    counts = sp.hstack([gex, adt], format="csr")
    return _assemble(counts, obs, n_genes, rng, dict(
        site_effect=float(site_effect), donor_effect=float(donor_effect), seed=int(seed),
        n_cells=int(n_cells), n_genes=int(n_genes), mean_count=float(mean_count)))


def _assemble(counts, obs, n_genes, rng, truth) -> ad.AnnData:
    """Attach QC, phase, donor metadata and var columns in the GEO schema."""
    gex = counts[:, :n_genes]
    names = [f"MT-{i:02d}" for i in range(_N_MT)] + [f"SIMG{i:05d}" for i in range(n_genes - _N_MT)]
    lib = np.asarray(gex.sum(1)).ravel()
    obs["GEX_n_genes_by_counts"] = np.diff(gex.indptr).astype(np.int32)
    obs["GEX_pct_counts_mt"] = 100 * np.asarray(gex[:, :_N_MT].sum(1)).ravel() / np.maximum(lib, 1)
    obs["GEX_size_factors"] = np.maximum(lib, 1) / np.maximum(lib, 1).mean()
    cycling = obs["cell_type"].isin(["T prog cycling", "HSC", "G/M prog", "Proerythroblast"])
    p = np.where(cycling.to_numpy()[:, None], [0.3, 0.35, 0.35], [0.75, 0.15, 0.10])
    obs["GEX_phase"] = np.array(["G1", "S", "G2M"])[(rng.random(len(obs))[:, None] > p.cumsum(1)).sum(1)]
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
