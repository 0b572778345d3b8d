"""Donor structure, split into composition and expression within cell type, where batches are donors.

When a file's batches are donors (above all donors pooled in the same lanes), a difference
between batches is first of all biology.  This module measures it in two parts: how the
donors' cell-type proportions differ (each with a Clopper-Pearson interval), and, within each
cell type with enough cells in at least two donors, which genes differ most between the
donors' pseudo-bulk profiles.  It makes no recommendation to remove either.
"""

from __future__ import annotations

import anndata as ad
import numpy as np
import pandas as pd

from .power import clopper_pearson

#: Cells a donor needs in a cell type for its pseudo-bulk profile there.
MIN_CELLS = 20
#: Genes named per cell type, and cell types named on the page.
N_GENES, N_TYPES = 3, 3
#: Pseudo-count of the log counts-per-10k profiles, so a gene absent in one donor has a finite ratio.
PSEUDO = 1.0


def composition_intervals(obs: pd.DataFrame, *, by: str = "DonorNumber", label: str = "cell_type",
                          level: float = 0.95) -> pd.DataFrame:
    """Each donor's share of each cell type, with its Clopper-Pearson interval.

    Parameters
    ----------
    obs
        Cell metadata with ``by`` and ``label``.
    by, label
        The donor and cell-type columns.
    level
        Coverage of each interval.

    Returns
    -------
    pandas.DataFrame
        One row per (cell type, donor): ``cells``, ``share``, ``low``, ``high``, and ``spread``
        (the type's largest minus smallest share over donors), sorted by spread, largest first.
    """
    tab = pd.crosstab(obs[label].astype(str), obs[by].astype(str))
    n = tab.sum(0)
    recs = [{"cell type": t, "donor": d, "cells": int(k), "share": k / n[d],
             **dict(zip(("low", "high"), clopper_pearson(int(k), int(n[d]), level=level)))}
            for t, row in tab.iterrows() for d, k in row.items()]
    out = pd.DataFrame(recs)
    out["spread"] = out.groupby("cell type")["share"].transform(lambda s: s.max() - s.min())
    return out.sort_values(["spread", "cell type", "share"], ascending=[False, True, False], ignore_index=True)


def expression_drivers(adata: ad.AnnData, *, by: str = "DonorNumber", label: str = "cell_type",
                       min_cells: int = MIN_CELLS, n_genes: int = N_GENES) -> pd.DataFrame:
    """Within each cell type, the genes whose donors' pseudo-bulk profiles differ most.

    Parameters
    ----------
    adata
        Data with raw counts in ``layers['counts']``.
    by, label
        The donor and cell-type columns.
    min_cells
        Cells a donor needs in a type to be compared there (:data:`MIN_CELLS`).
    n_genes
        Genes kept per type.

    Returns
    -------
    pandas.DataFrame
        One row per (cell type, gene): ``donors`` compared, ``log2 range`` (largest minus
        smallest log2 counts per 10k over the donors) and ``highest in`` (the donor with the
        most), sorted by range; empty when no type has two donors with ``min_cells``.
    """
    x = adata.layers["counts"]
    donors, types = (adata.obs[c].astype(str).to_numpy() for c in (by, label))
    recs = []
    for t in np.unique(types):
        ok = [d for d in np.unique(donors[types == t]) if ((types == t) & (donors == d)).sum() >= min_cells]
        if len(ok) < 2:
            continue
        prof = np.vstack([np.asarray(x[(types == t) & (donors == d)].sum(0)).ravel() for d in ok])
        logp = np.log2(prof / prof.sum(1, keepdims=True) * 1e4 + PSEUDO)
        rng = logp.max(0) - logp.min(0)
        for g in np.argsort(-rng, kind="stable")[:n_genes]:
            recs.append({"cell type": t, "gene": str(adata.var_names[g]), "donors": len(ok),
                         "log2 range": float(rng[g]), "highest in": ok[int(np.argmax(logp[:, g]))]})
    cols = ["cell type", "gene", "donors", "log2 range", "highest in"]
    return pd.DataFrame(recs, columns=cols).sort_values("log2 range", ascending=False, ignore_index=True)


def structure_sentence(comp: pd.DataFrame, drivers: pd.DataFrame, *, pooled: bool) -> str:
    """Donor structure in words: the composition that differs most, and the genes within types.

    Parameters
    ----------
    comp
        :func:`composition_intervals` output.
    drivers
        :func:`expression_drivers` output.
    pooled
        Whether the donors were pooled in the same lanes (then the structure is biology).

    Returns
    -------
    str
    """
    parts = []
    for t in list(dict.fromkeys(comp["cell type"]))[:N_TYPES]:
        rows = comp[comp["cell type"] == t]
        hi, lo = rows.iloc[0], rows.iloc[-1]
        parts.append(f"{t} make up {hi['share']:.0%} ({hi['low']:.0%}-{hi['high']:.0%}) of {hi['donor']}'s cells "
                     f"and {lo['share']:.0%} ({lo['low']:.0%}-{lo['high']:.0%}) of {lo['donor']}'s")
    text = "**Donor structure.** In composition, " + "; ".join(parts) + " (95% Clopper-Pearson intervals)."
    if drivers.empty:
        text += f" No cell type has {MIN_CELLS} cells in two donors, so expression within types is not compared."
    else:
        top = drivers.head(2 * N_GENES)
        text += (" Within cell types, the genes whose donors differ most are " + ", ".join(
            f"{r['gene']} in {r['cell type']} ({r['log2 range']:.1f} log2 units, highest in {r['highest in']})"
            for _, r in top.iterrows()) + ".")
    if pooled:
        text += (" The donors shared their lanes, so this structure is biology, not a technical batch effect; "
                 "an integration that mixes the donors removes it, and this report does not recommend that.")
    return text


def removal_sentence(verdicts: pd.DataFrame, *, mixing: str, base: str = "PCA",
                     integrations: tuple[str, ...] = ("Harmony", "scVI (scvi-tools)", "our NB +batch")) -> str:
    """What each integration removes: its donor mixing beside the unintegrated embedding's.

    Parameters
    ----------
    verdicts
        The batch verdict table (rows by embedding, ``mixing`` and ``mixing low``/``mixing high``).
    mixing
        The batch-mixing column.
    base
        The unintegrated row.
    integrations
        The rows that correct for batch, in order; those absent are skipped.

    Returns
    -------
    str
    """
    def at(n):
        r = verdicts.loc[n]
        return f"{r[mixing]:.3f} ({r['mixing low']:.3f}-{r['mixing high']:.3f})"

    shown = [n for n in integrations if n in verdicts.index]
    if base not in verdicts.index or not shown:
        return ""
    up = [n for n in shown if verdicts.loc[n, "mixing low"] > verdicts.loc[base, "mixing high"]]
    return (f"Donor mixing is {at(base)} in the unintegrated {base}, and " + ", ".join(f"{at(n)} after {n}"
            for n in shown) + ". " + (f"{' and '.join(up)} mix the donors more than {base} does (the one-sided bounds "
                                      "do not overlap): that is donor structure removed." if up else
                                      f"No integration mixes the donors clearly more than {base} does."))
