"""Which data the book runs on: ``$CELLVAE_DATA`` if set, else the calibrated simulator."""

from __future__ import annotations

import os
from pathlib import Path

import anndata as ad
import pandas as pd

from ..._io import cache_dir
from ..._version import __version__
from ...data import ENV_VAR, prepare, read_h5ad, resolve_design
from ...data.design import ENV as DESIGN_ENV
from ...data.simulate import describe, simulate_bmmc
from ...datasets import bmmc_starter
from . import store
from .cache import tree_digest

#: The book's default simulated data.  3,000 cells x 1,000 HVGs (of 5,000 simulated genes, and
#: as many genes as the shipped real starter) is the size at which every run of the book trains
#: to convergence, with three seeds for the architecture choice, in a cold build under the
#: 20-minute limit on two CPU cores (4,000 cells took 21.3 minutes); it leaves ~250 cells per
#: site x donor batch.  Seeds and convergence were given the compute before data size.
BOOK_SIM = dict(n_cells=3_000, n_genes=5_000, site_effect=0.4, donor_effect=0.2, seed=0)
BOOK_HVGS_SIM = 1_000
#: On a real file the original study's 5,000 HVGs are used, or every gene of a smaller file.
BOOK_HVGS_GEO = 5_000


def simulated_raw() -> ad.AnnData:
    """The book's default simulation, raw (before HVG selection): the fidelity table's input.

    Returns
    -------
    anndata.AnnData
        :func:`~cellvae.data.simulate_bmmc` output at :data:`BOOK_SIM`.
    """
    return simulate_bmmc(**BOOK_SIM)


#: What stands in for site or donor metadata that a file lacks.
UNKNOWN = "unknown"


#: Share of cells with a BMMC cell-type label (the GEO file's names) that makes a real file BMMC.
BMMC_SHARE = 0.5


def is_bmmc(adata: ad.AnnData) -> bool:
    """Whether the data is BMMC, where comparisons with the original study and the starter apply.

    Parameters
    ----------
    adata
        The book data: simulated (always BMMC-like) or a real file.

    Returns
    -------
    bool
        True for the simulator, or when at least :data:`BMMC_SHARE` of the cells carry one of the
        GEO file's cell-type names.
    """
    from ...data.calibration import CELL_TYPES

    if "simulation" in adata.uns:
        return True
    return bool(adata.obs["cell_type"].astype(str).isin(list(CELL_TYPES)).mean() >= BMMC_SHARE)


def is_pooled(adata: ad.AnnData) -> bool:
    """Whether the data's batches are donors pooled in the same lanes (``CELLVAE_BATCH_IS``, or guessed).

    Parameters
    ----------
    adata
        The book data, with the design :func:`~cellvae.data.resolve_design` stored in ``uns``.

    Returns
    -------
    bool
        True when a batch difference is donor biology rather than a batch effect.
    """
    return adata.uns.get("design", {}).get("batch_is") == "pooled donors"


def recorded(obs: pd.DataFrame, col: str) -> bool:
    """Whether the data records ``col``: present and not filled with :data:`UNKNOWN`.

    Parameters
    ----------
    obs
        Cell metadata.
    col
        A column name, e.g. ``"Site"``.

    Returns
    -------
    bool
    """
    return col in obs and not (obs[col].astype(str) == UNKNOWN).all()


def fill_gaps(adata: ad.AnnData) -> list[str]:
    """Note what a real file lacks, and fill what the chapters index so that none crashes.

    Parameters
    ----------
    adata
        Prepared real data; a missing ``Site`` or ``DonorNumber`` is set to :data:`UNKNOWN`
        in place.

    Returns
    -------
    list of str
        One clause per gap, for the note at the top of every page: no site or donor
        metadata (batch effects cannot be split into site and donor), a single batch (no
        batch effect can be measured).
    """
    gaps = []
    missing = [c for c in ("Site", "DonorNumber") if c not in adata.obs]
    for col in missing:
        adata.obs[col] = pd.Categorical([UNKNOWN] * adata.n_obs)
    if missing:
        what = " or ".join({"Site": "site", "DonorNumber": "donor"}[c] for c in missing)
        gaps.append(f"it records no {what}, so a batch effect cannot be split into site and donor parts")
    if adata.obs["batch"].nunique() < 2:
        gaps.append("it has a single batch, so no batch effect can be measured and the batch metrics are "
                    "undefined")
    return gaps


#: The code that shapes the prepared book data: a change in it prepares the data again.
PREPARING_SOURCES = ("data", "study/runner/bookdata.py")


def book_data() -> ad.AnnData:
    """The data every chapter runs on: ``$CELLVAE_DATA`` if set, else the simulator.

    ``uns['source']`` holds a one-line description that each page prints.  The prepared data
    is written once to the cache (``bookdata/``, keyed by the file's path, size and mtime or
    the simulation's parameters, and by the code that prepares it) and read from there: seven
    chapter kernels would otherwise simulate or read and prepare it seven times.

    Returns
    -------
    anndata.AnnData
        Prepared data with a ``train``/``test`` split: a real file in the GEO or starter
        schema (the GEX features) with min(:data:`BOOK_HVGS_GEO`, its genes) HVGs, or the
        :data:`BOOK_SIM` simulation with :data:`BOOK_HVGS_SIM` HVGs.
    """
    path = os.environ.get(ENV_VAR)
    if path and not Path(path).is_file():
        return _prepare_book(path)  # the reader's one-line error
    if path:
        st = Path(path).stat()
        said = sorted((v, os.environ.get(v, "")) for v in DESIGN_ENV.values())  # the user's design
        what = ("file", str(Path(path).resolve()), st.st_size, st.st_mtime_ns, BOOK_HVGS_GEO, said)
    else:
        what = ("simulator", sorted(BOOK_SIM.items()), BOOK_HVGS_SIM)
    h = store.key(*what, __version__, tree_digest(PREPARING_SOURCES, code_only=True))
    where = store.cached_file(cache_dir() / "bookdata" / f"{h}.h5ad",
                              lambda tmp: _prepare_book(path).write_h5ad(tmp))
    return ad.read_h5ad(where)


def _prepare_book(path: str | None) -> ad.AnnData:
    if path:
        raw = read_h5ad(path, counts_only=True, feature_type="GEX")  # as load_bmmc reads it
        design = resolve_design(raw)
        hvgs = min(BOOK_HVGS_GEO, raw.n_vars)
        adata = prepare(raw, n_top_genes=hvgs, seed=0)
        chosen = f"{hvgs:,} HVGs" if hvgs < raw.n_vars else f"all {hvgs:,} genes"
        gaps = fill_gaps(adata)
        sim = raw.uns.get("simulation")  # a file the simulator wrote is simulated, wherever it comes from
        what = (f"the simulated file {Path(path).name} ({describe(sim)}; " if sim is not None else
                f"the real file {Path(path).name} (")
        adata.uns["source"] = (f"{what}{adata.n_obs:,} cells, {chosen}, set by ${ENV_VAR}); {design.sentence()}"
                               + "".join(f"; {g}" for g in gaps))
    else:
        raw = simulated_raw()
        adata = prepare(raw, n_top_genes=BOOK_HVGS_SIM, seed=0)
        adata.uns["source"] = (describe(raw.uns["simulation"]) + f", {BOOK_HVGS_SIM:,} HVGs; "
                               f"set ${ENV_VAR} to run on the GEO file")
    return adata


def starter_data() -> ad.AnnData:
    """The shipped starter, prepared as the book prepares any real file (all its genes).

    Returns
    -------
    anndata.AnnData
        600 cells with a seeded train/test split and ``uns['source']``.
    """
    raw = bmmc_starter()
    adata = prepare(raw, n_top_genes=raw.n_vars, seed=0)
    adata.uns["source"] = (f"the shipped BMMC starter ({adata.n_obs:,} real cells x {adata.n_vars:,} genes "
                           "of GSE194122, cellvae.datasets.bmmc_starter())")
    return adata
