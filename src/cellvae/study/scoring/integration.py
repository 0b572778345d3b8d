"""The full scIB metric set, through scib-metrics' ``Benchmarker``, and the two negative controls.

:func:`benchmark` scores embeddings with the Benchmarker's own set (batch correction: BRAS,
iLISI, kBET, graph connectivity, PCR comparison; bio conservation: isolated labels, k-means
NMI and ARI, label silhouette, cLISI) and adds three columns it lacks (:data:`EXTRAS`): the
classic batch silhouette, trajectory conservation (the Spearman correlation of a diffusion
pseudotime with the data's ``GEX_pseudotime_order``, scaled to [0, 1] as in scIB) and
cell-cycle conservation (:mod:`cellvae.study.scoring.cellcycle`).  The Benchmarker's aggregates
(0.4 batch + 0.6 bio) are its own and leave the extras out.  ``full=False`` scores only the
subset the null calibration needs, with the same functions on the same neighbour graph, so
the table's values and the nulls' are computed alike.  Batch mixing, the statistic the
verdicts read, is :mod:`cellvae.study.scoring.mixing`'s: iLISI and kBET relative to the same
embedding with batches shuffled within cell type, so that structure alone cannot fail it.
This is the book's one scoring path, and its column names are the Benchmarker's.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

import anndata as ad
import numpy as np
import pandas as pd

from ..runner import store
from .cellcycle import cell_cycle_conservation, cycle_scores
from .fastscore import exact_neighbors, fast_scoring
from .isolated import BIO as BIO  # re-exported: the verdicts' bio statistic
from .isolated import TOTAL_WEIGHTS, drops_isolated, leave_out_isolated
from .mixing import ILISI_NEIGHBORS, MIXING, mixing_scores

#: Batch-correction columns of the Benchmarker, as it names them, then the extra batch silhouette.
BATCH_COLS = ("BRAS", "iLISI", "KBET", "Graph connectivity", "PCR comparison", "Silhouette batch")
#: Bio-conservation columns of the Benchmarker, then trajectory conservation.
BIO_COLS = ("Isolated labels", "KMeans NMI", "KMeans ARI", "Silhouette label", "cLISI",
            "Trajectory conservation", "Cell-cycle conservation")
#: The columns scib-metrics lacks, shown but left out of the Benchmarker's aggregates.
EXTRAS = ("Silhouette batch", "Trajectory conservation", "Cell-cycle conservation")
AGGREGATES = ("Batch correction", "Bio conservation", "Total")
# The decision statistics: batch mixing (iLISI and kBET, each relative to the same embedding with
# batches shuffled within cell type: :mod:`.mixing`) and bio conservation (the Benchmarker's
# aggregate, :data:`.isolated.BIO`); the total's weights are :data:`.isolated.TOTAL_WEIGHTS`.
#: The columns of :func:`benchmark` that :mod:`.mixing` adds beside the Benchmarker's.
MIXING_COLS = ("iLISI shuffled", "KBET shuffled", MIXING)
#: obs column of the data's own pseudotime.
TIME_KEY = "GEX_pseudotime_order"
# 2: exact neighbours (pynndescent before); 3: cell-cycle conservation; 4: padded kBET kernel;
# 5: batch mixing relative to within-type shuffles; 6: isolated labels left out below MIN_GROUP;
# 7: kBET's diffusion neighbours once per graph; 8: from a seeded ARPACK start (fastscore.diffusion_nn),
# and batch mixing on the embeddings as given, before the Benchmarker rewrites them
SCORES_VERSION = 8


def _bare(adata: ad.AnnData, keys: Mapping[str, str], batch_key: str, label_key: str,
          mask: np.ndarray | None, cycle: np.ndarray | None = None) -> ad.AnnData:
    """Cells of ``mask`` with the embeddings under their row names and the obs the metrics need."""
    m = np.ones(adata.n_obs, bool) if mask is None else np.asarray(mask, bool)
    obs = pd.DataFrame({"batch": adata.obs[batch_key].astype(str).to_numpy()[m],
                        "labels": adata.obs[label_key].astype(str).to_numpy()[m]},
                       index=adata.obs_names[m].copy())
    if TIME_KEY in adata.obs:
        obs["time"] = pd.to_numeric(adata.obs[TIME_KEY], errors="coerce").to_numpy()[m]
    if cycle is not None:
        obs["S_score"], obs["G2M_score"] = cycle[m, 0], cycle[m, 1]
    obsm = {name: np.ascontiguousarray(adata.obsm[k][m], dtype=np.float32) for name, k in keys.items()}
    return ad.AnnData(obs=obs, obsm=obsm)


def trajectory_conservation(emb: np.ndarray, time: np.ndarray, *, n_neighbors: int = 15) -> float:
    """Spearman correlation of a diffusion pseudotime on ``emb`` with the true one, scaled to [0, 1].

    Parameters
    ----------
    emb
        Cells x dimensions.
    time
        The true pseudotime; cells where it is NaN or 0 (outside a trajectory) are left out.
    n_neighbors
        Neighbours of the diffusion map's kNN graph.

    Returns
    -------
    float
        ``(rho + 1) / 2``, NaN when fewer than 20 cells lie on a trajectory.
    """
    import scanpy as sc
    from scipy.stats import spearmanr

    on = np.isfinite(time) & (time > 0)
    if on.sum() < 20:
        return float("nan")
    tmp = ad.AnnData(obs=pd.DataFrame(index=np.arange(on.sum()).astype(str)),
                     obsm={"rep": np.asarray(emb[on], np.float32)})
    sc.pp.neighbors(tmp, n_neighbors=min(n_neighbors, int(on.sum()) - 1), use_rep="rep",
                    transformer="sklearn")
    sc.tl.diffmap(tmp, n_comps=min(10, int(on.sum()) - 2))
    tmp.uns["iroot"] = int(np.argmin(time[on]))
    sc.tl.dpt(tmp)
    rho = spearmanr(tmp.obs["dpt_pseudotime"].to_numpy(), time[on]).statistic
    return float((rho + 1) / 2) if np.isfinite(rho) else float("nan")


def _run_benchmarker(bare: ad.AnnData, pre: str | None, *, full: bool, drop_isolated: bool) -> pd.DataFrame:
    """Unscaled Benchmarker results (embeddings x metrics and aggregates), plus the extras if ``full``."""
    import scib_metrics
    from scib_metrics.benchmark import BatchCorrection, Benchmarker, BioConservation

    scib_metrics.settings.verbosity = logging.WARNING  # kBET's per-type "too small, skip" notes
    keys = [k for k in bare.obsm if k != "__pre__"]
    batch = BatchCorrection() if full else BatchCorrection(bras=False, graph_connectivity=False,
                                                           pcr_comparison=False)
    bm = Benchmarker(bare, batch_key="batch", label_key="labels", embedding_obsm_keys=keys,
                     batch_correction_metrics=batch, bio_conservation_metrics=BioConservation(),
                     pre_integrated_embedding_obsm_key=pre, progress_bar=False)
    with fast_scoring():
        # before the Benchmarker, which rewrites the embeddings in place (float32 rounding, ~2e-7):
        # enough to move a VAE latent's near-tied neighbours and its batch mixing by up to 0.006
        mix = _mixing(bare, keys)
        bm.prepare(neighbor_computer=exact_neighbors)
        bm.benchmark()
    res = bm.get_results(min_max_scale=False).drop("Metric Type").astype(float)
    res = leave_out_isolated(res, drop_isolated)
    for c in MIXING_COLS:
        res[c] = [mix[k][c] for k in res.index]
    if full:
        lab, bat = bare.obs["labels"].to_numpy(), bare.obs["batch"].to_numpy()
        for k in keys:
            x = bare.obsm[k]
            res.loc[k, "Silhouette batch"] = float(scib_metrics.silhouette_batch(x, lab, bat))
            t = bare.obs["time"].to_numpy() if "time" in bare.obs else np.full(len(x), np.nan)
            res.loc[k, "Trajectory conservation"] = trajectory_conservation(x, t)
            res.loc[k, "Cell-cycle conservation"] = (
                cell_cycle_conservation(x, bare.obsm["__pre__"], bare.obs[["S_score", "G2M_score"]].to_numpy(), bat)
                if "S_score" in bare.obs else np.nan)
    return res


def _two_batches(bare: ad.AnnData, batch_key: str) -> None:
    """Raise ValueError unless the scored cells hold two batches of ``batch_key``."""
    if bare.obs["batch"].nunique() < 2:
        raise ValueError(f"the scored cells hold {bare.obs['batch'].nunique()} batch(es) of "
                         f"'{batch_key}'; batch metrics need two")


def _mixing(bare: ad.AnnData, keys: list[str]) -> dict:
    """:func:`~.mixing.mixing_scores` of each embedding on its own exact neighbour graph (within ``fast_scoring``)."""
    return {k: mixing_scores(exact_neighbors(bare.obsm[k], ILISI_NEIGHBORS), bare.obs["batch"].to_numpy(),
                             bare.obs["labels"].to_numpy()) for k in keys}


def batch_mixing(adata: ad.AnnData, keys: Mapping[str, str], *, batch_key: str = "batch",
                 label_key: str = "cell_type", mask: np.ndarray | None = None) -> pd.DataFrame:
    """:data:`MIXING_COLS` alone, as :func:`benchmark` computes them, without the Benchmarker's metrics.

    What a power simulation needs: its verdict reads batch mixing only, and the Benchmarker's
    bio metrics cost about ten times as much.

    Parameters
    ----------
    adata, keys, batch_key, label_key, mask
        As for :func:`benchmark`.

    Returns
    -------
    pandas.DataFrame
        One row per embedding, the columns :data:`MIXING_COLS`; equal to those of :func:`benchmark`.

    Raises
    ------
    ValueError
        If the cells hold fewer than two batches.
    """
    bare = _bare(adata, keys, batch_key, label_key, mask)
    _two_batches(bare, batch_key)

    def compute() -> pd.DataFrame:
        with fast_scoring():
            mix = _mixing(bare, list(keys))
        return pd.DataFrame({c: [mix[k][c] for k in keys] for c in MIXING_COLS}, index=list(keys))

    return store.cached("benchmark", store.key("mixing only", _key(bare, None, False, False)), compute,
                        codec=store.FRAME, valid=lambda got: list(got.index) == list(keys))


def _key(bare: ad.AnnData, pre: str | None, full: bool, drop_isolated: bool) -> str:
    return store.key(SCORES_VERSION, full, pre, drop_isolated, sorted(bare.obsm),
                     *(bare.obsm[k] for k in sorted(bare.obsm)), *(list(map(str, bare.obs[c])) for c in bare.obs))


def benchmark(adata: ad.AnnData, keys: Mapping[str, str], *, pre_key: str | None = None,
              batch_key: str = "batch", label_key: str = "cell_type", mask: np.ndarray | None = None,
              full: bool = True, drop_isolated: bool | None = None) -> pd.DataFrame:
    """Score embeddings with the Benchmarker, unscaled, cached on disk by content hash.

    Parameters
    ----------
    adata
        Data with the embeddings in ``obsm``.
    keys
        Row name -> obsm key.
    pre_key
        obsm key of the unintegrated embedding that PCR comparison measures against
        (required when ``full``).
    batch_key, label_key
        obs columns of batches and cell types.
    mask
        Cells to score (e.g. the held-out test cells); None scores all.
    full
        The full set and the extras; False scores only what :data:`MIXING` and
        :data:`BIO` need (the null calibration).
    drop_isolated
        Leave the isolated-label score out; None decides it for ``adata``
        (:func:`drops_isolated`).  Simulated nulls pass the data's own decision.

    Returns
    -------
    pandas.DataFrame
        One row per embedding: the metric columns and the Benchmarker's aggregates, all
        unscaled in [0, 1], 1 best; and :data:`MIXING_COLS`, of which :data:`MIXING` is
        about 1 when batches mix as well as shuffled ones, lower as they separate.

    Raises
    ------
    KeyError
        If an obsm key or obs column is missing.
    ValueError
        If ``full`` and no ``pre_key``, or the cells hold fewer than two batches.
    """
    missing = [k for k in keys.values() if k not in adata.obsm] + [
        c for c in (batch_key, label_key) if c not in adata.obs]
    if missing:
        raise KeyError(f"missing for scoring: {missing}")
    if full and pre_key is None:
        raise ValueError("the full metric set needs pre_key, the unintegrated embedding")
    bare = _bare(adata, {**keys, **({"__pre__": pre_key} if full else {})}, batch_key, label_key, mask,
                 cycle_scores(adata) if full else None)
    _two_batches(bare, batch_key)
    drop = drops_isolated(adata, label_key=label_key) if drop_isolated is None else bool(drop_isolated)
    # without PCR comparison the pre-integrated key is unused, but the Benchmarker needs one
    pre = "__pre__" if full else next(iter(keys))
    return store.cached("benchmark", _key(bare, pre_key, full, drop),
                        lambda: _run_benchmarker(bare, pre, full=full, drop_isolated=drop)
                        .loc[list(keys)].rename_axis(None),
                        codec=store.FRAME,
                        valid=lambda got: list(got.index) == list(keys) and np.isfinite(got[MIXING]).all())


def scaled(table: pd.DataFrame) -> pd.DataFrame:
    """Min-max scale each metric over the rows, as the Benchmarker does, and re-aggregate.

    Parameters
    ----------
    table
        :func:`benchmark` output.

    Returns
    -------
    pandas.DataFrame
        The Benchmarker's metric columns scaled to [0, 1] over rows (a constant column
        becomes 0, as sklearn's ``MinMaxScaler`` makes it), with its three aggregates
        recomputed from them.
    """
    cols = [c for c in BATCH_COLS + BIO_COLS if c in table and c not in EXTRAS]
    x = table[cols].astype(float)
    span = (x.max() - x.min()).replace(0, 1.0)
    out = (x - x.min()) / span
    batch = [c for c in cols if c in BATCH_COLS]
    bio = [c for c in cols if c in BIO_COLS]
    out["Batch correction"] = out[batch].mean(axis=1)
    out["Bio conservation"] = out[bio].mean(axis=1)
    out["Total"] = TOTAL_WEIGHTS[0] * out["Batch correction"] + TOTAL_WEIGHTS[1] * out["Bio conservation"]
    return out


def random_embedding(n_obs: int, n_dims: int, *, seed: int = 0) -> np.ndarray:
    """A standard-normal embedding: no structure at all, the first negative control.

    Parameters
    ----------
    n_obs, n_dims
        Shape.
    seed
        Generator seed.

    Returns
    -------
    numpy.ndarray
        float32 cells x dimensions.
    """
    return np.random.default_rng(seed).standard_normal((n_obs, n_dims)).astype(np.float32)


def shuffle_labels(adata: ad.AnnData, key: str, *, seed: int = 0, key_added: str | None = None) -> str:
    """Permute an obs column into a new one: the null of perfect mixing, the second control.

    Parameters
    ----------
    adata
        Data to add the column to.
    key
        obs column to permute (e.g. ``"batch"``).
    seed
        Permutation seed.
    key_added
        Name of the new column (default ``f"{key}_shuffled"``).

    Returns
    -------
    str
        The new column's name.
    """
    name = key_added or f"{key}_shuffled"
    rng = np.random.default_rng(seed)
    adata.obs[name] = adata.obs[key].to_numpy()[rng.permutation(adata.n_obs)]
    return name
