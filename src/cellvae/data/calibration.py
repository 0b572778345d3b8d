"""The simulator's tables and fitted constants: cell types, lineage tree, batches, calibration.

Every number marked "fitted" was measured on the shipped real starter (600 BMMC cells x
1000 genes of GSE194122, :func:`cellvae.datasets.bmmc_starter`) by
``tools/calibrate_simulator.py``, which prints the starter's values beside the simulator's;
rerun it after changing anything here.  Numbers marked "assumed" cannot be measured on the
starter (one site, two donors) and are design choices.
"""

from __future__ import annotations

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
# Differentiation tree (assumed, textbook haematopoiesis): each type's predecessor.  A cell of
# type t lies on the segment parent(t) -> t; HSC is the root of the erythroid, myeloid, B and T paths.
_CD8 = [t for t in CELL_TYPES if t.startswith("CD8+ T") and t != "CD8+ T naive"]
PARENT: dict[str, str | None] = {
    "HSC": None, "MK/E prog": "HSC", "Proerythroblast": "MK/E prog", "Erythroblast": "Proerythroblast",
    "Normoblast": "Erythroblast", "Reticulocyte": "Normoblast",
    "G/M prog": "HSC", "CD14+ Mono": "G/M prog", "CD16+ Mono": "CD14+ Mono", "cDC2": "G/M prog",
    "cDC1": "cDC2", "pDC": "G/M prog",
    "Lymph prog": "HSC", "Transitional B": "Lymph prog", "Naive CD20+ B IGKC+": "Transitional B",
    "Naive CD20+ B IGKC-": "Transitional B", "B1 B IGKC+": "Naive CD20+ B IGKC+",
    "B1 B IGKC-": "Naive CD20+ B IGKC-", "Plasmablast IGKC+": "Naive CD20+ B IGKC+",
    "Plasmablast IGKC-": "Naive CD20+ B IGKC-", "Plasma cell IGKC+": "Plasmablast IGKC+",
    "Plasma cell IGKC-": "Plasmablast IGKC-",
    "T prog cycling": "Lymph prog", "CD4+ T naive": "T prog cycling", "CD8+ T naive": "T prog cycling",
    "CD4+ T activated": "CD4+ T naive", "CD4+ T activated integrinB7+": "CD4+ T activated",
    "CD4+ T CD314+ CD45RA+": "CD4+ T naive", "T reg": "CD4+ T naive",
    **dict.fromkeys(_CD8, "CD8+ T naive"),
    "MAIT": "T prog cycling", "gdT CD158b+": "T prog cycling", "gdT TCRVD2+": "T prog cycling",
    "dnT": "T prog cycling", "NK": "Lymph prog", "NK CD158e1+": "NK", "ILC": "Lymph prog", "ILC1": "ILC",
}
# The 12 site x donor batches of the CITE-seq BMMC data, with relative sizes.
BATCHES: dict[str, float] = {
    "s1d1": 1.0, "s1d2": 0.9, "s1d3": 0.8, "s2d1": 1.1, "s2d4": 0.8, "s2d5": 0.7,
    "s3d1": 1.2, "s3d6": 1.0, "s3d7": 1.3, "s4d1": 0.9, "s4d8": 1.1, "s4d9": 0.8,
}

# Median library size of each sub-lineage over the median of all cells (fitted to the shipped
# starter by tools/calibrate_simulator.py; sub-lineages with < 5 starter cells: assumed near kin).
LIB_REL: dict[str, float] = {
    "stem": 1.81, "lymphoid prog": 1.59, "myeloid prog": 2.09, "erythroid prog": 1.81,
    "early erythroid": 3.27, "late erythroid": 3.17, "monocyte": 0.94, "dendritic": 2.21,
    "B": 0.80, "plasma": 0.85, "CD4 T": 1.06, "CD8 T": 0.92, "innate T": 0.93, "NK/ILC": 0.63,
}
# Log-sd of library size within a sub-lineage, pooled (fitted to the shipped starter by
# tools/calibrate_simulator.py).
LIB_LOG_SD = 0.45
# Gene-wise NB inverse dispersion theta ~ lognormal(median, log-sd): within-type excess
# dispersion after size factors (fitted to the shipped starter by tools/calibrate_simulator.py).
THETA_MEDIAN, THETA_LOG_SD = 20.0, 0.8
# Log-sd of the genes' baseline expression (fitted: the zero fraction over the 1,000 most expressed
# genes, 0.665 in the starter, at the depth MEAN_COUNT gives; it also sets the top-10 share), and per
# tree step the fraction of genes that change and the s.d. of their log-fold-change (fitted to the
# starter's type log-fold-change spread); all by tools/calibrate_simulator.py.
BASELINE_SD, STEP_FRAC, STEP_SD = 3.3, 0.08, 1.5
# Mean raw count per gene and cell: at 5,000 genes (the book's simulation) it puts the median
# library over the 1,000 most expressed genes at the starter's, about 3,070 counts (fitted by
# tools/calibrate_simulator.py).  Depth scales with the number of genes simulated.
MEAN_COUNT = 0.9
# Share of the counts held by named dominant genes: (share outside the erythroid lineage, share
# in a mature reticulocyte) (fitted to the shipped starter by tools/calibrate_simulator.py; HBA1/HBA2
# are not among the starter's genes and get small assumed shares).  The 13 MT- genes share "MT-".
DOMINANT: dict[str, tuple[float, float]] = {
    "HBB": (5e-4, 0.93), "HBA2": (1e-5, 0.02), "HBA1": (1e-5, 0.015), "MALAT1": (0.10, 0.012),
    "B2M": (0.022, 4e-4), "TMSB4X": (0.018, 1e-4), "EEF1A1": (0.016, 2e-4), "TPT1": (0.016, 5e-4),
    "MT-": (0.11, 0.007),
}
MT_GENES = ["MT-ND1", "MT-ND2", "MT-CO1", "MT-CO2", "MT-ATP8", "MT-ATP6", "MT-CO3", "MT-ND3",
            "MT-ND4L", "MT-ND4", "MT-ND5", "MT-ND6", "MT-CYB"]
# Erythroid maturity of each type anchor: 0 elsewhere, 1 a reticulocyte; dominant-gene shares
# interpolate linearly between the two DOMINANT columns (fitted: early erythroid cells hold
# 66% HBB, late ones 93%, in the shipped starter, by tools/calibrate_simulator.py).
ERY_MATURITY: dict[str, float] = {"MK/E prog": 0.02, "Proerythroblast": 0.75, "Erythroblast": 0.95,
                                  "Normoblast": 1.0, "Reticulocyte": 1.0}
# Per-donor log-fold-change s.d. by lineage at donor_effect = 0.2, the default strength; it
# scales linearly with donor_effect (fitted to the starter's s1d1 vs s1d2 excess log-fold-change
# spread per type by tools/calibrate_simulator.py).
DONOR_SD: dict[str, float] = {"erythroid": 0.40, "myeloid": 0.22, "lymphoid": 0.10, "progenitor": 0.20}
# Fraction of the variance of site and donor log-fold-changes that is cell-type specific (assumed).
TYPE_SPECIFIC = 0.5
# Dirichlet concentration of each donor's composition around CELL_TYPES' abundances (fitted to the
# starter's two donors, s1d1 vs s1d2, after multinomial noise, by tools/calibrate_simulator.py).
COMPOSITION_CONCENTRATION = 37.0
# Ambient RNA: share of each cell's counts that come from the soup (the population's average
# profile) (fitted: HBB share of non-erythroid cells over HBB share of all counts in the starter,
# by tools/calibrate_simulator.py), and the log-sd of the batches' rates per unit site_effect
# (assumed: the starter has one site).
AMBIENT_RATE, AMBIENT_LOG_SD = 0.01, 1.5
# Cell-cycle markers (Tirosh et al. 2016, the lists of scanpy's cell-cycle tutorial).  The
# simulator names the first CC_GENES synthetic genes of each list after them and raises them by
# CC_LFC (log scale) in S or G2/M cells; the study scores the phase from them as scIB does.
CC_S_GENES = ["MCM5", "PCNA", "TYMS", "FEN1", "MCM2", "MCM4", "RRM1", "UNG", "GINS2", "MCM6", "CDCA7",
              "DTL", "PRIM1", "UHRF1", "HELLS", "RFC2", "RPA2", "NASP", "RAD51AP1", "GMNN", "WDR76",
              "SLBP", "CCNE2", "UBR7", "POLD3", "MSH2", "ATAD2", "RAD51", "RRM2", "CDC45", "CDC6",
              "EXO1", "TIPIN", "DSCC1", "BLM", "CASP8AP2", "USP1", "CLSPN", "POLA1", "CHAF1B", "BRIP1",
              "E2F8"]
CC_G2M_GENES = ["HMGB2", "CDK1", "NUSAP1", "UBE2C", "BIRC5", "TPX2", "TOP2A", "NDC80", "CKS2", "NUF2",
                "CKS1B", "MKI67", "TMPO", "CENPF", "TACC3", "FAM64A", "SMC4", "CCNB2", "CKAP2L", "CKAP2",
                "AURKB", "BUB1", "KIF11", "ANP32E", "TUBB4B", "GTSE1", "KIF20B", "HJURP", "CDCA3", "HN1",
                "CDC20", "TTK", "CDC25C", "KIF2C", "RANGAP1", "NCAPD2", "DLGAP5", "CDCA2", "CDCA8",
                "ECT2", "KIF23", "HMMR", "AURKA", "PSRC1", "ANLN", "LBR", "CKAP5", "CENPE", "CTCF",
                "NEK2", "G2E3", "GAS2L3", "CBX5", "CENPA"]
# Markers of each list with a program, and their log-fold-change in their phase (assumed: the
# starter's four measurable markers rise 0.9 to 3.2 over its G1 cells, but it calls 76% of its
# cells G2M, mature monocytes too, so its phase labels are no clean reference).
CC_GENES, CC_LFC = 20, 1.5
# Phase probabilities (G1, S, G2M) of the cycling progenitor types and of every other type (assumed).
CYCLING_TYPES = ("T prog cycling", "HSC", "G/M prog", "Proerythroblast")
PHASE_P = {"cycling": (0.3, 0.35, 0.35), "other": (0.75, 0.15, 0.10)}
