"""Colour-blind-safe colours, and BMMC cell types grouped into lineages where there are too many to tell apart.

Up to 8 categories take the Okabe-Ito palette, up to 12 Paul Tol's muted palette with three of his
vibrant colours; more than that cannot be told apart by colour at all, so 44 BMMC cell types are
drawn by lineage (:data:`LINEAGE_GROUPS`, from the simulator's own cell-type table) with a legend.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ...data.calibration import CELL_TYPES

#: Okabe & Ito (2008), colour-blind safe (black last, for an eighth category).
OKABE_ITO = ("#E69F00", "#56B4E9", "#009E73", "#F0E442", "#0072B2", "#D55E00", "#CC79A7", "#000000")
#: Paul Tol's muted palette (9) and three of his vibrant colours: 12 distinguishable categories.
TOL_12 = ("#332288", "#88CCEE", "#44AA99", "#117733", "#999933", "#DDCC77", "#CC6677", "#882255", "#AA4499",
          "#EE7733", "#0077BB", "#BBBBBB")
#: The simulator's sub-lineages, in 8 groups a reader can tell apart.
LINEAGE_GROUPS = {
    "stem": "progenitors", "lymphoid prog": "progenitors", "myeloid prog": "progenitors",
    "erythroid prog": "progenitors", "early erythroid": "erythroid", "late erythroid": "erythroid",
    "monocyte": "monocytes", "dendritic": "dendritic cells", "B": "B and plasma cells",
    "plasma": "B and plasma cells", "CD4 T": "CD4 T", "CD8 T": "CD8 T", "innate T": "NK, ILC and innate T",
    "NK/ILC": "NK, ILC and innate T",
}
#: Share of cells that must carry a known BMMC cell-type name before they are grouped by lineage.
KNOWN_SHARE = 0.5


def colours(n: int) -> list:
    """``n`` distinguishable colours: Okabe-Ito up to 8, :data:`TOL_12` up to 12, else a hue circle.

    Parameters
    ----------
    n
        Categories.

    Returns
    -------
    list
        Colours (hex strings, or RGB tuples beyond 12: those need labels, not colour alone).
    """
    import seaborn as sns

    if n <= len(OKABE_ITO):
        return list(OKABE_ITO[:n])
    if n <= len(TOL_12):
        return list(TOL_12[:n])
    return sns.color_palette("husl", n)


def lineages(labels) -> np.ndarray | None:
    """BMMC cell-type labels as their lineage groups; None when too few are BMMC names.

    Parameters
    ----------
    labels
        One cell-type label per cell.

    Returns
    -------
    numpy.ndarray or None
        The group of each cell ("other" for a name the table lacks).
    """
    lab = pd.Series(np.asarray(labels).astype(str))
    known = lab.isin(list(CELL_TYPES))
    if known.mean() < KNOWN_SHARE:
        return None
    group = {t: LINEAGE_GROUPS[sub] for t, (_, sub, _) in CELL_TYPES.items()}
    return lab.map(group).fillna("other").to_numpy()
