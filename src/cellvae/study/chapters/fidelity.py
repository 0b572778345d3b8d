"""How close the simulator is to real BMMC: seven properties of the raw counts, side by side.

:func:`fidelity_table` measures each property on the simulated and on the real data and
puts a distance between them against a bound; :func:`fidelity_figure` draws the same five
comparisons.  The measurements (partly reused by ``tools/calibrate_simulator.py``) are written
so that data with different numbers of genes compare: per-gene relationships binned by gene mean,
top-gene shares, per-cell-type ratios, and depth over as many top genes (:mod:`.depth`).
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import scipy.sparse as sp

from ..figures.plots import WIDTH, _styled
from .depth import depth_rows

# Bounds on each distance: a calibrated simulator must stay inside them; miscalibrated inputs
# (theta 1.2 counts, no dominant genes, shuffled library sizes or donors) land outside.
#: Zero fraction against gene mean: mean absolute difference of the binned median zero fraction
#: (the calibrated simulator about 0.02; real means with NB theta 1.2 about 0.05, the old simulator 0.039).
ZERO_BOUND = 0.035
#: Mean against variance: mean absolute difference of binned median log10 overdispersion
#: (calibrated about 0.12; theta 1.2 about 0.38, the old simulator 0.32).
DISPERSION_BOUND = 0.25
#: Library size by cell type: RMS difference of per-type log median library, centred over types.
LIBRARY_BOUND = 0.35
#: Top-gene share: largest |log ratio| of the TOP_KS shares among the top 1000 genes (the
#: erythroid share, hence HBB, varies with the seed: 0.08-0.43 for seeds 0-2; no HBB: 1.6).
TOP_SHARE_BOUND, TOP_KS = 0.5, (1, 10)
#: Donor effect: |log ratio| of the median (over types) excess donor log-fold-change s.d.
DONOR_BOUND = 0.4
#: Genes binned by log10 mean in steps of this width; a bin counts with >= 5 genes on both sides;
#: genes with a mean under _MIN_MEAN are left out (their overdispersion is noise in 600 cells).
_BIN, _MIN_MEAN = 0.25, 0.1
_COLOURS = {"simulator": "tab:orange", "real": "tab:blue"}


def gex_counts(adata) -> sp.csr_matrix:
    """Raw gene-expression counts of ``adata`` as float64 CSR (ADT features dropped).

    Parameters
    ----------
    adata
        AnnData with raw counts in ``layers['counts']`` and optionally ``var['feature_types']``.

    Returns
    -------
    scipy.sparse.csr_matrix
        Cells x GEX genes.
    """
    x = sp.csr_matrix(adata.layers["counts"], dtype=np.float64)
    if "feature_types" in adata.var:
        x = x[:, (adata.var["feature_types"].astype(str) == "GEX").to_numpy()]
    return x


def _gene_stats(x: sp.csr_matrix) -> pd.DataFrame:
    """Per gene with a non-zero mean: mean, zero fraction, NB overdispersion (var - mean) / mean**2."""
    mean = np.asarray(x.mean(0)).ravel()
    var = np.asarray(x.multiply(x).mean(0)).ravel() - mean**2
    zero = 1 - np.diff(sp.csc_matrix(x).indptr) / x.shape[0]
    ok = mean > 0
    return pd.DataFrame({"mean": mean[ok], "zero": zero[ok], "phi": (var[ok] - mean[ok]) / mean[ok] ** 2})


def _binned(st: pd.DataFrame, col: str) -> pd.Series:
    st = st[st["mean"] >= _MIN_MEAN]
    b = np.round(np.log10(st["mean"]) / _BIN) * _BIN
    g = st.groupby(b)[col]
    return g.median()[g.size() >= 5]


def _library_by_type(x, types, *, min_cells: int = 10) -> pd.Series:
    """log(median library size) of each cell type with at least ``min_cells`` cells."""
    lib = pd.Series(np.asarray(x.sum(1)).ravel(), index=np.asarray(types, dtype=str))
    g = lib.groupby(level=0)
    return np.log(g.median()[g.size() >= min_cells])


def top_shares(x, ks=TOP_KS, *, among: int = 1000) -> dict[int, float]:
    """Share of the counts held by the top ``k`` genes, among the top ``among`` genes.

    Parameters
    ----------
    x
        Cells x genes raw counts.
    ks
        Numbers of top genes.
    among
        Shares are of the counts of the ``among`` most expressed genes, so data with
        1000 and 5000 genes compare.

    Returns
    -------
    dict
        ``k -> share``.
    """
    tot = np.sort(np.asarray(x.sum(0)).ravel())[::-1][:among]
    return {k: float(tot[:k].sum() / tot.sum()) for k in ks}


def donor_spread(x, types, donors, pair, *, min_cells: int = 8, min_mean: float = 0.5,
                 n_perm: int = 20, seed: int = 0) -> pd.Series:
    """Excess s.d. of per-gene log-fold-changes between two donors, per cell type.

    The log-fold-change of mean expression (counts per 10k, pseudocount 0.1) between the
    two donors' cells of a type, over genes with a mean of at least ``min_mean`` counts;
    its variance minus the variance when the donor labels are permuted within the type
    (the sampling noise), square-rooted (0 when negative).

    Parameters
    ----------
    x
        Cells x genes raw counts.
    types, donors
        Cell type and donor (or batch) of each cell.
    pair
        The two donor values compared.
    min_cells
        Types with fewer cells from either donor are left out.
    min_mean
        Genes with a lower mean count in the type are left out.
    n_perm
        Permutations for the noise.
    seed
        Seeds the permutations.

    Returns
    -------
    pandas.Series
        Excess s.d. per cell type.
    """
    rng = np.random.default_rng(seed)
    types, donors = np.asarray(types, dtype=str), np.asarray(donors, dtype=str)
    out = {}
    for t in np.unique(types):
        m = (types == t) & np.isin(donors, pair)
        g = donors[m] == pair[0]
        if min(g.sum(), (~g).sum()) < min_cells:
            continue
        xt = x[m].toarray()
        keep = xt.mean(0) >= min_mean
        y = xt[:, keep] / xt.sum(1, keepdims=True).clip(1) * 1e4

        def lfc(h, y=y):
            return np.log((y[h].mean(0) + 0.1) / (y[~h].mean(0) + 0.1))

        noise = np.mean([np.var(lfc(rng.permutation(g))) for _ in range(n_perm)])
        out[t] = float(np.sqrt(max(np.var(lfc(g)) - noise, 0.0)))
    return pd.Series(out, dtype=float)


def _donor_pair(sim_d, real_d) -> tuple[str, str]:
    """The two most common real donors when the sim has them too (s1d1, s1d2), else the sim's largest."""
    real_top = list(pd.Series(real_d).value_counts().index[:2])
    if set(real_top) <= set(pd.unique(sim_d)):
        return tuple(real_top), tuple(real_top)
    return tuple(pd.Series(sim_d).value_counts().index[:2]), tuple(real_top)


def _measure(sim, real, sim_donor_key, real_donor_key):
    xs, xr = gex_counts(sim), gex_counts(real)
    ds, dr = sim.obs[sim_donor_key].astype(str), real.obs[real_donor_key].astype(str)
    ps, pr = _donor_pair(ds, dr)
    return {
        "stats": (_gene_stats(xs), _gene_stats(xr)),
        "lib": (_library_by_type(xs, sim.obs["cell_type"]), _library_by_type(xr, real.obs["cell_type"])),
        "top": (top_shares(xs), top_shares(xr)),
        "donor": (donor_spread(xs, sim.obs["cell_type"], ds, ps), donor_spread(xr, real.obs["cell_type"], dr, pr)),
    }


def fidelity_table(sim, real, *, sim_donor_key: str = "batch", real_donor_key: str = "batch") -> pd.DataFrame:
    """Five properties of the simulator against the real data, with a distance and a bound each.

    Rows and distances (all comparable across gene numbers, bounds are module constants):

    - *zero fraction vs gene mean*: genes (mean >= 0.1) binned by log10 mean; the mean absolute difference
      of the bins' median zero fraction (a per-gene relationship, so 5000 vs 1000 genes does
      not matter).  Summary: median zero fraction of genes with mean 0.5-2.
    - *mean vs variance*: the same bins, median log10 NB overdispersion ``(var - mean) / mean**2``;
      mean absolute difference.  Summary: median overdispersion of genes with mean 0.5-2.
    - *library size by cell type*: per type (>= 10 cells on both sides) log median library,
      centred over the shared types; RMS difference (ratios, so the total depth and the
      composition cancel).
      Summary: the s.d. of the centred log medians.
    - *top-gene share*: the shares of the top 1 and top 10 genes among the top 1000 genes'
      counts; the larger |log ratio|.  Summary: the top-1 share.
    - *donor effect by type*: :func:`donor_spread` per type; |log ratio| of the medians over
      types.  Summary: that median.

    Parameters
    ----------
    sim, real
        AnnData with raw counts in ``layers['counts']`` and ``obs['cell_type']``.  Use the
        raw simulator output (recommended): after ``prepare(raw, n_top_genes=2000)`` the
        table still computes, but HVG selection keeps the most overdispersed genes and
        concentrates the counts, so the gene-level rows are then not like for like.
    sim_donor_key, real_donor_key
        The obs columns naming donors.  ``batch`` (default) compares the starter's s1d1 and
        s1d2, two donors at one site, with the simulator's same two batches, so no site
        effect enters; with ``DonorNumber`` the simulator's two largest donors are compared.

    Returns
    -------
    pandas.DataFrame
        Columns ``property``, ``simulator``, ``real``, ``distance``, ``distance is``,
        ``bound`` and ``within bound``.
    """
    m = _measure(sim, real, sim_donor_key, real_donor_key)
    (ss, sr), (ls, lr), (ts, tr), (ds, dr) = m["stats"], m["lib"], m["top"], m["donor"]

    def mid(st, col):
        return float(st.loc[st["mean"].between(0.5, 2.0), col].median())

    def binned_gap(col, f=lambda v: v):
        a, b = _binned(ss, col).pipe(f), _binned(sr, col).pipe(f)
        shared = a.index.intersection(b.index)
        return float(np.abs(a[shared] - b[shared]).mean()) if len(shared) else np.inf

    def log10pos(v):
        return np.log10(v.clip(1e-3))

    shared = ls.index.intersection(lr.index)
    ls, lr = ls[shared] - ls[shared].mean(), lr[shared] - lr[shared].mean()
    shared_d = ds.index.intersection(dr.index)
    ds_m, dr_m = ds[shared_d].median(), dr[shared_d].median()
    rows = [
        ("zero fraction vs gene mean", mid(ss, "zero"), mid(sr, "zero"), binned_gap("zero"),
         "mean |difference| of binned median zero fraction", ZERO_BOUND),
        ("mean vs variance", mid(ss, "phi"), mid(sr, "phi"), binned_gap("phi", log10pos),
         "mean |difference| of binned median log10 overdispersion", DISPERSION_BOUND),
        ("library size by cell type", float(ls[shared].std()), float(lr[shared].std()),
         float(np.sqrt(((ls[shared] - lr[shared]) ** 2).mean())) if len(shared) else np.inf,
         "RMS difference of per-type centred log median library", LIBRARY_BOUND),
        ("top-gene share", ts[1], tr[1], max(abs(np.log(ts[k] / tr[k])) for k in ts),
         "max |log ratio| of top-1 and top-10 shares among top 1000 genes", TOP_SHARE_BOUND),
        ("donor log-fold-change spread by type", float(ds_m), float(dr_m),
         float(abs(np.log(ds_m / dr_m))) if len(shared_d) and ds_m > 0 and dr_m > 0 else np.inf,
         "|log ratio| of median excess donor LFC s.d. over shared types", DONOR_BOUND),
    ] + depth_rows(gex_counts(sim), gex_counts(real))
    out = pd.DataFrame(rows, columns=["property", "simulator", "real", "distance", "distance is", "bound"])
    out["within bound"] = out["distance"] <= out["bound"]
    return out


def _short(t: str) -> str:
    return t.replace("Naive CD20+ B", "Naive B").replace("+ T", "").replace("activated", "act.").replace(
        "integrinB7+", "B7+")


@_styled
def fidelity_figure(sim, real, *, sim_donor_key: str = "batch", real_donor_key: str = "batch"):
    """The five comparisons of :func:`fidelity_table` as side-by-side panels, simulator vs real.

    Parameters
    ----------
    sim, real
        As for :func:`fidelity_table`.
    sim_donor_key, real_donor_key
        As for :func:`fidelity_table`.

    Returns
    -------
    matplotlib.figure.Figure
        Five panels (zero fraction, overdispersion, top shares; library and donor spread by
        type), labelled axes, one legend.
    """
    m = _measure(sim, real, sim_donor_key, real_donor_key)
    fig, ax = plt.subplot_mosaic([["z", "p", "t"], ["l", "l", "d"]], figsize=(WIDTH, 7.0),
                                 height_ratios=[1, 1.3])
    for i, name in enumerate(["simulator", "real"]):
        c = _COLOURS[name]
        st = m["stats"][i]
        st = st[st["mean"] >= _MIN_MEAN]
        ax["z"].scatter(st["mean"], st["zero"], s=3, alpha=0.3, color=c, rasterized=True)
        ax["p"].scatter(st["mean"], st["phi"].clip(1e-2), s=3, alpha=0.3, color=c, rasterized=True)
        top = m["top"][i]
        ax["t"].bar(np.arange(len(TOP_KS)) + 0.4 * i, [top[k] for k in TOP_KS], width=0.4, color=c, label=name)
    for a in (ax["z"], ax["p"]):
        a.set_xscale("log")
        a.set_xlabel("gene mean count")
    ax["z"].set_ylabel("zero fraction")
    ax["p"].set(yscale="log", ylabel="overdispersion (floor 0.01)")
    ax["t"].set_xticks(np.arange(len(TOP_KS)) + 0.2, [f"top {k}" for k in TOP_KS])
    ax["t"].set(ylabel="share of top-1000 counts", xlabel="genes")
    fig.legend(loc="outside upper center", ncol=2)
    lib = pd.DataFrame({"simulator": m["lib"][0], "real": m["lib"][1]}).dropna()
    lib -= lib.mean()
    don = pd.DataFrame({"simulator": m["donor"][0], "real": m["donor"][1]}).dropna()
    for a, d, lab in [(ax["l"], lib, "centred log median library"), (ax["d"], don, "donor LFC s.d.")]:
        y = np.arange(len(d))
        a.barh(y - 0.2, d["simulator"], height=0.4, color=_COLOURS["simulator"])
        a.barh(y + 0.2, d["real"], height=0.4, color=_COLOURS["real"])
        a.set_yticks(y, [_short(t) for t in d.index])
        a.set_xlabel(lab)
    return fig


def fidelity_sentence(table: pd.DataFrame) -> str:
    """How many of the fidelity distances lie within their bounds, naming any outside.

    Parameters
    ----------
    table
        :func:`fidelity_table` output.

    Returns
    -------
    str
        A sentence computed from the ``within bound`` column.
    """
    out, n = table[~table["within bound"]], len(table)
    names = "; ".join(f"{p} ({d:.3f} against {b:g})" for p, d, b in zip(out["property"], out["distance"], out["bound"]))
    return (f"{n - len(out)} of {n} distances lie within their bounds; outside: {names}." if len(out)
            else f"All {n} distances lie within their bounds.")
