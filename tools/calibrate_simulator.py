"""Measure the real BMMC starter's properties that calibrate the simulator, and print them.

The numbers in ``src/cellvae/data/calibration.py`` marked "fitted" come from this script:
it measures the shipped starter (600 real cells x 1000 genes, two donors at one site) and,
for comparison, the simulator as calibrated (``simulate_bmmc(10_000, 5_000)``, seed 0, its
batches s1d1 and s1d2: the starter's design)::

    python tools/calibrate_simulator.py          # starter vs simulator table
    python tools/calibrate_simulator.py --no-sim # starter only

Measurements (same code on both): within-type NB overdispersion after size factors (median
over genes with mean >= 0.5 in types with >= 20 cells, then over types); library size log-sd
overall and within sub-lineage, and each sub-lineage's median over the overall median
(LIB_REL); top-1/top-10 shares; the median library size and zero fraction over the 1,000
most expressed genes (MEAN_COUNT, BASELINE_SD); HBB's share in early/late erythroid and other cells; the
ambient rate (HBB share of non-erythroid cells over HBB share of all counts); s1d1 vs s1d2
excess log-fold-change s.d. per lineage; the spread of type log-fold-changes; the Dirichlet
concentration of the two donors' compositions after multinomial noise.
"""

from __future__ import annotations

import argparse

import numpy as np
import pandas as pd

from cellvae.data.calibration import CELL_TYPES
from cellvae.datasets import bmmc_starter
from cellvae.study.chapters.depth import N_TOP, depth_summary
from cellvae.study.chapters.fidelity import donor_spread, gex_counts, top_shares


def measure(adata) -> dict[str, float]:
    """The calibration numbers of one data set (raw counts, cell_type, batch s1d1/s1d2)."""
    x = gex_counts(adata)
    ct = adata.obs["cell_type"].astype(str).to_numpy()
    lib = np.asarray(x.sum(1)).ravel()
    sub = np.array([CELL_TYPES[t][1] for t in ct])
    lin = np.array([CELL_TYPES[t][0] for t in ct])
    out = {}
    phis, lfcs = [], []
    cp = None
    for t, n in pd.Series(ct).value_counts().items():
        if n < 20:
            continue
        m = ct == t
        xt = x[m].toarray()
        s = lib[m] / lib[m].mean()
        y = xt / s[:, None]
        mu, v = y.mean(0), y.var(0, ddof=1)
        ok = mu >= 0.5
        phis.append(np.median((v[ok] - mu[ok] * np.mean(1 / s)) / mu[ok] ** 2))
        if cp is None:
            cp = np.asarray((x.multiply(1e4 / lib[:, None])).mean(0)).ravel()
        ct_cp = (xt / lib[m, None] * 1e4).mean(0)
        lfcs.append(np.std(np.log((ct_cp[ok] + 0.1) / (cp[ok] + 0.1))))
    out["within-type overdispersion phi (median)"] = float(np.median(phis))
    out["  = theta"] = 1 / out["within-type overdispersion phi (median)"]
    out["type log-fold-change s.d."] = float(np.median(lfcs))
    out["library log-sd"] = float(np.log(lib).std())
    logl = pd.Series(np.log(lib)).groupby(sub)
    out["library log-sd within sub-lineage"] = float(np.sqrt((logl.transform(lambda v: v - v.mean()) ** 2).mean()))
    for s_, v in (logl.median() - np.log(np.median(lib)))[logl.size() >= 5].items():
        out[f"LIB_REL {s_}"] = float(np.exp(v))
    out.update({f"top-{k} share": v for k, v in top_shares(x).items()})
    out[f"median library over top {N_TOP} genes"], out[f"zero fraction over top {N_TOP} genes"] = depth_summary(x)
    names = list(adata.var_names[adata.var["feature_types"].astype(str) == "GEX"]
                 if "feature_types" in adata.var else adata.var_names)
    hbb = np.asarray(x[:, names.index("HBB")].todense()).ravel()
    for grp in ("early erythroid", "late erythroid"):
        out[f"HBB share {grp}"] = float(np.mean(hbb[sub == grp] / lib[sub == grp]))
    other = lin != "erythroid"
    out["HBB share other"] = float(np.mean(hbb[other] / lib[other]))
    out["ambient rate"] = out["HBB share other"] / float(hbb.sum() / lib.sum())
    don = donor_spread(x, ct, adata.obs["batch"].astype(str), ("s1d1", "s1d2"))
    for g, v in don.groupby([CELL_TYPES[t][0] for t in don.index]).median().items():
        out[f"donor LFC excess s.d. {g}"] = float(v)
    tab = pd.crosstab(ct, adata.obs["batch"].astype(str).to_numpy())[["s1d1", "s1d2"]]
    p1, p2, p = tab.s1d1 / tab.s1d1.sum(), tab.s1d2 / tab.s1d2.sum(), tab.sum(1) / tab.values.sum()
    inv = ((p1 - p2) ** 2).sum() / (p * (1 - p)).sum() - 1 / tab.s1d1.sum() - 1 / tab.s1d2.sum()
    out["composition concentration"] = float(2 / inv - 1) if inv > 0 else np.inf
    return out


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--no-sim", action="store_true", help="measure the starter only")
    a = ap.parse_args(argv)
    cols = {"starter": measure(bmmc_starter())}
    if not a.no_sim:
        from cellvae.data.simulate import simulate_bmmc

        sim = simulate_bmmc(10_000, 5_000, seed=0)
        cols["simulator"] = measure(sim[sim.obs["batch"].isin(["s1d1", "s1d2"])])  # the starter's design
    with pd.option_context("display.width", 120, "display.max_rows", 100):
        print(pd.DataFrame(cols).round(3).to_string())


if __name__ == "__main__":
    main()
