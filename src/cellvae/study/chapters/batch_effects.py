"""The batch chapter's evidence in one place: embeddings, baselines, scores, nulls and verdicts.

:func:`batch_evidence` trains or loads everything (our NB and NB +batch, scvi-tools' SCVI,
Harmony, the two negative controls), scores it on held-out test cells with the full scIB set,
scores every replicate of each (:func:`~cellvae.study.calls.embeddings.batch_replicates`) on
the decision statistics, calibrates the nulls and the power curves at the data's size, and
judges every row against its own kind's null by one-sided tests over its replicates.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import anndata as ad
import numpy as np
import pandas as pd

from ..calls.calibration import DOSES, calibrate, dose_table, null_table, thresholds
from ..calls.controls import scope_labels, scopes
from ..calls.embeddings import (
    COND_KEY,
    NB_KEY,
    NB_ROW,
    Replicate,
    batch_embeddings,
    batch_replicates,
    replicate_row,
    subsample,
)
from ..calls.permutation import OWN_NULL, data_thresholds, subsample_masks
from ..calls.power import detection_limit, false_positive_rate, limit_sentence, power_table
from ..calls.selection import ModelChoice
from ..calls.trajectory import trajectory_calls, trajectory_replicates
from ..calls.verdicts import verdict_table
from ..runner.runs import RunResult, fit_and_select
from ..runner.scored import drawn_mask, scored_cells
from ..scoring.baselines import harmony, scvi_baseline
from ..scoring.embed import PCA_KEY
from ..scoring.integration import (
    BIO,
    MIXING,
    benchmark,
    random_embedding,
    shuffle_labels,
)
from ..scoring.prefetch import prefetch

#: Rows of the main table, in order: name -> (obsm key, null kind it is judged against).
#: scVI and the two controls are latents of a VAE's kind, so our NB VAE's null judges them.
ROWS = {"PCA": (PCA_KEY, "PCA"), "Harmony": ("X_harmony", "Harmony"),
        "scVI (scvi-tools)": ("X_scvi", "NB VAE"), NB_ROW: (NB_KEY, "NB VAE"),
        "our NB +batch": (COND_KEY, "NB VAE"), "random embedding": ("X_random", "NB VAE"),
        "shuffled labels": (NB_KEY, "NB VAE")}
#: Rows scored on the scopes and on training cells.
SCOPE_ROWS = ("PCA", NB_ROW, "our NB +batch")


@dataclass
class Evidence:
    """Everything the batch chapter and the conclusions read."""

    choice: ModelChoice          # the chosen architecture (results chapter)
    nb: RunResult                # our NB, trained on the train split
    cond: RunResult              # our batch-conditional NB
    table: pd.DataFrame          # full scIB set on test cells, one row per ROWS entry present
    missing: dict                # row name -> why it is absent ("not installed")
    train: pd.DataFrame          # decision statistics of SCOPE_ROWS on as many training cells as test cells
    thr: pd.DataFrame            # null mean, s.d., n and threshold per scope, kind, statistic
    dose: pd.DataFrame           # dose-response scores, every simulation
    power: pd.DataFrame          # power per effect, kind and strength
    fpr: pd.DataFrame            # the measured false-positive rate per scope and kind
    reps: pd.DataFrame           # replicate scores: scope, embedding, replicate, MIXING, BIO
    verdicts: pd.DataFrame       # the main table's joint verdicts over replicates
    scoped: pd.DataFrame         # site within donor and donor within site, with thresholds
    labels: dict                 # scope -> readable name
    timing: pd.DataFrame         # wall time and epochs of SCVI and our two models
    trajectory: pd.DataFrame = field(default_factory=pd.DataFrame)  # each integration's order kept or lost

    def limits(self, kind: str) -> dict:
        """:func:`~cellvae.study.calls.power.detection_limit` for one kind.

        Parameters
        ----------
        kind
            ``"PCA"`` or ``"NB VAE"``.

        Returns
        -------
        dict
            ``{"site": strength, "donor": strength}``, NaN where none reaches the power.
        """
        return detection_limit(self.power, kind)

    def verdict_of(self, name: str) -> str:
        """The joint verdict of one row of the main table.

        Parameters
        ----------
        name
            A row name of :data:`ROWS`.

        Returns
        -------
        str
            ``"well integrated"``, ``"batch effect"``, ... or ``"not scored"`` if the row is absent.
        """
        return self.verdicts.loc[name, "verdict"] if name in self.verdicts.index else "not scored"

    def limit_text(self, kind: str) -> str:
        """The ``detection limit: ...`` sentence for one kind.

        Parameters
        ----------
        kind
            ``"PCA"`` or ``"NB VAE"``.

        Returns
        -------
        str
        """
        return limit_sentence(self.limits(kind), max(DOSES))


def _ceiling(reps: pd.DataFrame, scope: str) -> float:
    """The perfect-mixing control's mean batch mixing on one scope (NaN where it was not scored)."""
    r = reps[(reps["scope"] == scope) & (reps["embedding"] == "shuffled labels")]
    return float(r[MIXING].mean()) if len(r) else np.nan


def _own_scope_thresholds(adata: ad.AnnData, keys: dict, scores: pd.DataFrame, test: np.ndarray,
                          reps: dict | None = None) -> pd.DataFrame:
    """A real file's scopes, each row against its labels permuted within the scope's cells and cell types."""
    parts = [data_thresholds(adata, {n: keys[n] for n in SCOPE_ROWS if n in keys}, scores, mask=test & m,
                             scope=scope, batch_key=col, subsamples=subsample_masks(reps or {}, test & m))
             for scope, (m, col) in scopes(adata).items()
             if scope != "all batches" and adata.obs.loc[test & m, col].nunique() > 1]
    return pd.concat(parts) if parts else pd.DataFrame(columns=["mean", "sd", "n", "threshold"])


def _own(verdicts: pd.DataFrame, own: bool) -> pd.DataFrame:
    return verdicts.assign(null=OWN_NULL) if own else verdicts


def _scope_table(reps: pd.DataFrame, thr: pd.DataFrame, *, own: bool = False) -> pd.DataFrame:
    kinds = {n: n if own else ROWS[n][1] for n in SCOPE_ROWS}
    parts = [_own(verdict_table(reps[reps["scope"] == scope], kinds, thr, scope=scope, ceiling=_ceiling(reps, scope)),
                  own)
             .rename_axis("embedding").reset_index().assign(scope=scope)
             for scope in sorted(set(reps["scope"]) - {"all batches"})]
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=["scope", "embedding"])


def train_sample(adata: ad.AnnData, *, seed: int = 0) -> np.ndarray:
    """Cells the runs were fitted on, as many as the scored test cells, drawn at random: the scores' comparison set.

    kBET's and iLISI's values move with the number of cells scored, so training and test cells
    are compared at the same size.

    Parameters
    ----------
    adata
        Data with ``obs['split']``.
    seed
        Seeds the draw.

    Returns
    -------
    numpy.ndarray
        Boolean cell mask.
    """
    train = np.flatnonzero(fit_and_select(adata)[0])  # not the selection cells, which no run trains on
    n = min(len(train), int(scored_cells(adata).sum()))
    out = np.zeros(adata.n_obs, bool)
    out[np.random.default_rng(seed).choice(train, n, replace=False)] = True
    return out


def _replicate_jobs(adata: ad.AnnData, reps: dict[str, list[Replicate]]) -> list[tuple[str, str, int, dict, dict]]:
    """(scope, row, replicate, keys, benchmark keywords) of every replicate score."""
    test = scored_cells(adata)
    out = []
    for scope, (mask, col) in scopes(adata).items():
        cells = mask & test
        if adata.obs.loc[cells, col].nunique() < 2:
            continue
        for name, rs in reps.items():
            if scope != "all batches" and name not in SCOPE_ROWS:
                continue
            for i, (key, batch_col, sub) in enumerate(rs):
                m = cells if sub is None else subsample(cells, sub)
                out.append((scope, name, i, {replicate_row(name, i): key},
                            {"batch_key": batch_col if scope == "all batches" else col, "mask": m, "full": False}))
    return out


def score_jobs(adata: ad.AnnData, keys: dict[str, str], reps: dict[str, list[Replicate]]) -> list[tuple[dict, dict]]:
    """Every :func:`~cellvae.study.scoring.integration.benchmark` call of :func:`batch_evidence`.

    Parameters
    ----------
    adata
        The book data with every embedding and ``obs['batch_shuffled']``.
    keys
        Row name -> obsm key of the main table's rows present (no shuffled labels).
    reps
        :func:`~cellvae.study.calls.embeddings.batch_replicates` output.

    Returns
    -------
    list of (keys, keyword arguments)
        One call per main-table row (each cached alone, so they can run in parallel), the
        shuffled-label control, the training-cell comparison, then one per replicate score.
    """
    test = scored_cells(adata)
    jobs = [({n: k}, {"pre_key": PCA_KEY, "mask": test}) for n, k in keys.items()]
    jobs.append(({"shuffled labels": NB_KEY}, {"pre_key": PCA_KEY, "batch_key": "batch_shuffled", "mask": test}))
    jobs.append(({n: ROWS[n][0] for n in SCOPE_ROWS}, {"mask": train_sample(adata), "full": False}))
    return jobs + [(k, kw) for *_, k, kw in _replicate_jobs(adata, reps)]


def _replicate_scores(adata: ad.AnnData, reps: dict[str, list[Replicate]]) -> pd.DataFrame:
    recs = []
    for scope, name, i, k, kw in _replicate_jobs(adata, reps):
        t = benchmark(adata, k, **kw).iloc[0]
        recs.append({"scope": scope, "embedding": name, "replicate": i, MIXING: float(t[MIXING]), BIO: float(t[BIO])})
    return pd.DataFrame(recs, columns=["scope", "embedding", "replicate", MIXING, BIO])


def _embeddings(adata: ad.AnnData, results: list[RunResult]):
    choice, nb, cond, _ = batch_embeddings(adata, results)
    missing = {}
    h = harmony(adata)
    if h is None:
        missing["Harmony"] = "not installed"
    else:
        adata.obsm["X_harmony"] = h
    sv = scvi_baseline(adata, choice.best.spec)
    if sv is None:
        missing["scVI (scvi-tools)"] = "not installed"
    else:
        adata.obsm["X_scvi"] = sv.latent
    adata.obsm["X_random"] = random_embedding(adata.n_obs, nb.latent.shape[1])
    shuffle_labels(adata, "batch")
    return choice, nb, cond, sv, missing


def batch_evidence(adata: ad.AnnData, results: list[RunResult], *, executor=None) -> Evidence:
    """Train or load every embedding, score it, calibrate the nulls and judge.

    Parameters
    ----------
    adata
        Prepared book data (embeddings are added to ``obsm``, the shuffled batches to
        ``obs['batch_shuffled']``).
    results
        The :func:`~cellvae.study.runner.grid.report_specs` results (for the model choice).
    executor
        Where the calibration's VAE runs train and the scores are computed ahead, in
        parallel (see :func:`~cellvae.study.runner.runs.run_all`); None computes them here.

    Returns
    -------
    Evidence
    """
    choice, nb, cond, sv, missing = _embeddings(adata, results)
    test = scored_cells(adata)
    keys = {n: k for n, (k, _) in ROWS.items() if n not in missing and n != "shuffled labels"}
    reps = batch_replicates(adata, choice.best.spec, set(keys))
    jobs = score_jobs(adata, keys, reps)
    if executor is not None:  # the batch chapter's UMAPs too
        prefetch(adata, jobs, executor, umaps=[(k, drawn_mask(adata)) for k in (PCA_KEY, NB_KEY, COND_KEY)] + [(NB_KEY, test)])
    n_rows = len(keys) + 1
    table = pd.concat([benchmark(adata, k, **kw) for k, kw in jobs[:n_rows]])
    keys_train, kw_train = jobs[n_rows]
    train = benchmark(adata, keys_train, **kw_train)[[MIXING, BIO]]
    scores = _replicate_scores(adata, reps)
    cal = calibrate(adata, choice.best.spec, executor=executor)
    thr, dose = thresholds(cal), dose_table(cal)
    kinds = {n: kind for n, (_, kind) in ROWS.items() if n in table.index}
    judged_by, scope_thr = thr, thr
    if "simulation" not in adata.uns:  # a real file: each row against its own permutations (calls/permutation)
        own = {n: keys.get(n, NB_KEY) for n in kinds}
        judged_by = data_thresholds(adata, own, scores, mask=test, subsamples=subsample_masks(reps, test))
        kinds, scope_thr = {n: n for n in kinds}, _own_scope_thresholds(adata, keys, scores, test, reps)
    timing = pd.DataFrame({"wall time (s)": [sv.seconds if sv else np.nan, nb.metrics.get("seconds", np.nan),
                                             cond.metrics.get("seconds", np.nan)],
                           "epochs": [sv.epochs if sv else np.nan, nb.metrics.get("epochs", np.nan),
                                      cond.metrics.get("epochs", np.nan)]},
                          index=["scVI (scvi-tools)", "our NB", "our NB +batch"])
    return Evidence(choice, nb, cond, table, missing, train, thr, dose, power_table(dose, thr),
                    false_positive_rate(null_table(cal)), scores,
                    _own(verdict_table(scores[scores["scope"] == "all batches"], kinds, judged_by,
                                       ceiling=_ceiling(scores, "all batches")), judged_by is not thr),
                    _scope_table(scores, scope_thr, own=scope_thr is not thr),
                    scope_labels(adata), timing, trajectory_calls(trajectory_replicates(adata, reps, mask=test)))


def mixing_of(ev: Evidence, scope: str, name: str) -> float:
    """One embedding's batch mixing on one scope.

    Parameters
    ----------
    ev
        :func:`batch_evidence` output.
    scope
        ``"site within donor"`` or ``"donor within site"``.
    name
        A row of :data:`SCOPE_ROWS`.

    Returns
    -------
    float
        NaN if that embedding was not scored on that scope.
    """
    s = ev.scoped[(ev.scoped["scope"] == scope) & (ev.scoped["embedding"] == name)]
    return float(s[MIXING].iloc[0]) if len(s) else np.nan
