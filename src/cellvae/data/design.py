"""What a file's columns mean: which obs column is the batch, the cell type, the donor and the
site, and what a batch is.  The user says it through environment variables; what they leave
unsaid is guessed from common column names, and every guess is reported.

=========================  =====================================================
``CELLVAE_BATCH_KEY``      obs column of the batches
``CELLVAE_CELL_TYPE_KEY``  obs column of the cell-type labels
``CELLVAE_DONOR_KEY``      obs column of the donors, if any
``CELLVAE_SITE_KEY``       obs column of the sites, if any
``CELLVAE_BATCH_IS``       what a batch is: one of :data:`BATCH_KINDS`
=========================  =====================================================
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import asdict, dataclass

import anndata as ad
import pandas as pd

from .schema import DataError, check_labels, harmonize_obs

#: What a batch can be, and what a difference between batches then means.
BATCH_KINDS = {
    "lane": "a technical batch (a lane, library or run): a difference is technical",
    "site": "a processing site: a difference is technical",
    "donor": "a donor processed on its own: technique and biology are confounded",
    "pooled donors": "a donor, pooled with the others in the same lanes: a difference is biology",
    "site x donor": "one donor at one site: site and donor effects overlap",
}
#: Setting -> environment variable.
ENV = {"batch": "CELLVAE_BATCH_KEY", "cell_type": "CELLVAE_CELL_TYPE_KEY",
       "donor": "CELLVAE_DONOR_KEY", "site": "CELLVAE_SITE_KEY", "batch_is": "CELLVAE_BATCH_IS"}
#: Column names tried, in order, when a setting is not given.
GUESSES = {"batch": ("batch", "sample_id", "sample", "batch_id", "library_id", "lane"),
           "cell_type": ("cell_type", "celltype", "cell_types", "CellType", "cell_type_l1",
                         "annotation"),
           "donor": ("DonorNumber", "donor", "donor_id", "individual", "patient"),
           "site": ("Site", "site")}
#: The canonical obs names the study reads.
CANONICAL = {"batch": "batch", "cell_type": "cell_type", "donor": "DonorNumber", "site": "Site"}


@dataclass(frozen=True)
class Design:
    """The columns read and what a batch is, each with how it was decided (``how``)."""

    batch: str
    cell_type: str
    donor: str | None
    site: str | None
    batch_is: str
    how: dict[str, str]

    def sentence(self) -> str:
        """The design in words, for the note on every page.

        Returns
        -------
        str
            Each column read and how (said or guessed), and what a batch is.
        """
        cols = "; ".join(
            f"{w.replace('_', ' ')}: obs['{c}'] ({self.how[w]})" if c else f"no {w} column"
            for w, c in (("batch", self.batch), ("cell_type", self.cell_type),
                         ("donor", self.donor), ("site", self.site)))
        kind = f"{self.batch_is}, {BATCH_KINDS[self.batch_is]}"
        return f"{cols}; a batch is {kind} ({self.how['batch_is']})"


def _column(obs: pd.DataFrame, what: str, settings: Mapping[str, str]) -> tuple[str | None, str]:
    name = settings.get(ENV[what])
    if name:
        if name not in obs:
            raise DataError(f"{ENV[what]}={name!r} but obs has no such column; "
                            f"it has {list(obs.columns)}")
        return name, f"set by {ENV[what]}"
    found = next((c for c in GUESSES[what] if c in obs), None)
    return found, f"guessed from its name; set {ENV[what]} to change"


def _one_to_one(a: pd.Series, b: pd.Series) -> bool:
    pairs = pd.DataFrame({"a": a.astype(str).to_numpy(), "b": b.astype(str).to_numpy()})
    pairs = pairs.drop_duplicates()
    return pairs["a"].is_unique and pairs["b"].is_unique


def _guess_kind(obs: pd.DataFrame) -> tuple[str, str]:
    has_site, has_donor = "Site" in obs, "DonorNumber" in obs
    say = f"set {ENV['batch_is']} to change"
    if has_site and has_donor and _one_to_one(obs["batch"], obs["Site"].astype(str) + "/"
                                              + obs["DonorNumber"].astype(str)):
        kind = "donor" if obs["Site"].nunique() == 1 else "site x donor"
        return kind, f"guessed: each batch is one donor at one site; {say}"
    if has_donor and _one_to_one(obs["batch"], obs["DonorNumber"]):
        return "donor", f"guessed: each batch holds one donor; {say} to 'pooled donors' if they shared lanes"
    if has_site and _one_to_one(obs["batch"], obs["Site"]):
        return "site", f"guessed: each batch is one site; {say}"
    return "lane", f"guessed: no donor or site column matches the batches; {say}"


def resolve_design(adata: ad.AnnData, *, settings: Mapping[str, str] | None = None) -> Design:
    """Read the design from ``settings``, guess the rest, and write the canonical columns in place.

    The chosen columns are copied to ``batch``, ``cell_type``, ``DonorNumber`` and ``Site``
    (GEO's names, which the study reads); batch names ``s<site>d<donor>`` still give site and
    donor (:func:`~cellvae.data.schema.harmonize_obs`); a batch that is a donor also gives
    ``DonorNumber``.  The design is stored in ``uns['design']``.

    Parameters
    ----------
    adata
        Data whose ``obs`` is modified in place.
    settings
        The environment variables of :data:`ENV`; ``None`` reads ``os.environ``.

    Returns
    -------
    Design

    Raises
    ------
    DataError
        If a named column is missing, no batch or cell-type column is found, one has cells
        without a value, or ``CELLVAE_BATCH_IS`` is not one of :data:`BATCH_KINDS`.
    """
    settings = os.environ if settings is None else settings
    obs, found, how = adata.obs, {}, {}
    for what in CANONICAL:
        found[what], how[what] = _column(obs, what, settings)
    for what in ("batch", "cell_type"):
        if found[what] is None:
            raise DataError(f"no {what.replace('_', '-')} column found; "
                            f"set {ENV[what]} to one of {list(obs.columns)}")
        check_labels(obs, found[what])  # no cell without a batch or a cell type
    for what, col in found.items():
        if col is not None and col != CANONICAL[what]:
            obs[CANONICAL[what]] = obs[col].astype("category")
    kind = settings.get(ENV["batch_is"])
    if kind and kind not in BATCH_KINDS:
        raise DataError(f"{ENV['batch_is']}={kind!r} is not one of {list(BATCH_KINDS)}")
    harmonize_obs(adata)  # batch names s<site>d<donor> give site and donor; may replace obs
    obs = adata.obs
    for what, col in (("donor", "DonorNumber"), ("site", "Site")):
        if found[what] is None and col in obs:
            found[what], how[what] = col, "from batch names of the form s1d2"
    kind, how["batch_is"] = (kind, f"set by {ENV['batch_is']}") if kind else _guess_kind(obs)
    if kind in ("donor", "pooled donors") and found["donor"] is None:
        obs["DonorNumber"] = obs["batch"].astype("category")
        found["donor"], how["donor"] = found["batch"], "each batch is a donor"
    if kind == "site" and found["site"] is None:
        obs["Site"] = obs["batch"].astype("category")
        found["site"], how["site"] = found["batch"], "each batch is a site"
    design = Design(found["batch"], found["cell_type"], found["donor"], found["site"], kind, how)
    adata.uns["design"] = {k: ("" if v is None else v) for k, v in asdict(design).items()}
    return design
