"""The batch chapter's evidence in one place: embeddings, baselines, scores, nulls and verdicts.

:func:`batch_evidence` trains or loads everything (our NB and NB +batch, scvi-tools' SCVI,
Harmony, the two negative controls), scores it on held-out test cells with the full scIB set,
calibrates the nulls at the data's size and judges every row against its own kind's null.
"""

from __future__ import annotations

from dataclasses import dataclass

import anndata as ad
import numpy as np
import pandas as pd

from ..calls.calibration import DOSES, calibrate, dose_table, scope_labels, scopes, thresholds
from ..calls.embeddings import COND_KEY, NB_KEY, batch_embeddings
from ..calls.selection import ModelChoice
from ..calls.verdicts import detection_limit, judge, limit_sentence, threshold_of, verdict_table
from ..runner.runs import RunResult, fit_and_select
from ..scoring.baselines import harmony, scvi_baseline
from ..scoring.embed import PCA_KEY
from ..scoring.integration import (
    BIO,
    MIXING,
    benchmark,
    random_embedding,
    shuffle_labels,
)
from ..scoring.mixing import N_SHUFFLES
from ..scoring.prefetch import prefetch

#: Rows of the main table, in order: name -> (obsm key, null kind it is judged against).
#: scVI and the two controls are latents of a VAE's kind, so our NB VAE's null judges them.
ROWS = {"PCA": (PCA_KEY, "PCA"), "Harmony": ("X_harmony", "Harmony"),
        "scVI (scvi-tools)": ("X_scvi", "NB VAE"), "our NB": (NB_KEY, "NB VAE"),
        "our NB +batch": (COND_KEY, "NB VAE"), "random embedding": ("X_random", "NB VAE"),
        "shuffled labels": (NB_KEY, "NB VAE")}
#: Rows scored on the scopes and on training cells.
SCOPE_ROWS = ("PCA", "our NB", "our NB +batch")


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
    dose: pd.DataFrame           # dose-response scores
    verdicts: pd.DataFrame       # the main table's joint verdicts
    scoped: pd.DataFrame         # site within donor and donor within site, with thresholds
    labels: dict                 # scope -> readable name
    timing: pd.DataFrame         # wall time and epochs of SCVI and our two models

    def limits(self, kind: str) -> dict:
        """:func:`~cellvae.study.calls.verdicts.detection_limit` for one kind.

        Parameters
        ----------
        kind
            ``"PCA"`` or ``"NB VAE"``.

        Returns
        -------
        dict
            ``{"site": strength, "donor": strength}``, NaN where none is flagged.
        """
        return detection_limit(self.dose, self.thr, kind)

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


def _scope_table(adata: ad.AnnData, keys: dict, thr: pd.DataFrame, test: np.ndarray) -> pd.DataFrame:
    recs = []
    for scope, (mask, col) in scopes(adata).items():
        if scope == "all batches":
            continue
        ok = adata.obs.loc[mask & test, col].nunique() >= 2
        t = benchmark(adata, keys, batch_key=col, mask=mask & test, full=False) if ok else None
        for name in keys:
            kind = ROWS[name][1]
            m = float(t.loc[name, MIXING]) if ok else np.nan
            b = float(t.loc[name, BIO]) if ok else np.nan
            tm, tb = (threshold_of(thr, scope, kind, s) for s in (MIXING, BIO))
            recs.append({"scope": scope, "embedding": name, "null": kind, MIXING: m,
                         "mixing threshold": tm, "flagged": bool(m < tm) if ok else None,
                         BIO: b, "verdict": judge(m, b, mix_threshold=tm, bio_threshold=tb)})
    return pd.DataFrame(recs)


def train_sample(adata: ad.AnnData, *, seed: int = 0) -> np.ndarray:
    """Cells the runs were fitted on, as many as the test cells, drawn at random: the scores' comparison set.

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
    n = min(len(train), int((adata.obs["split"] == "test").sum()))
    out = np.zeros(adata.n_obs, bool)
    out[np.random.default_rng(seed).choice(train, n, replace=False)] = True
    return out


def score_jobs(adata: ad.AnnData, keys: dict[str, str]) -> list[tuple[dict, dict]]:
    """Every :func:`~cellvae.study.scoring.integration.benchmark` call of :func:`batch_evidence`.

    Parameters
    ----------
    adata
        The book data with every embedding and ``obs['batch_shuffled']``.
    keys
        Row name -> obsm key of the main table's rows present (no shuffled labels).

    Returns
    -------
    list of (keys, keyword arguments)
        One call per main-table row (each cached alone, so they can run in parallel), the
        shuffled-label control, the training-cell comparison and the two scopes.
    """
    test = (adata.obs["split"] == "test").to_numpy()
    jobs = [({n: k}, {"pre_key": PCA_KEY, "mask": test}) for n, k in keys.items()]
    jobs.append(({"shuffled labels": NB_KEY}, {"pre_key": PCA_KEY, "batch_key": "batch_shuffled", "mask": test}))
    scope_keys = {n: ROWS[n][0] for n in SCOPE_ROWS}
    jobs.append((scope_keys, {"mask": train_sample(adata), "full": False}))
    for scope, (mask, col) in scopes(adata).items():
        if scope != "all batches" and adata.obs.loc[mask & test, col].nunique() >= 2:
            jobs.append((scope_keys, {"batch_key": col, "mask": mask & test, "full": False}))
    return jobs


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
    test = (adata.obs["split"] == "test").to_numpy()
    keys = {n: k for n, (k, _) in ROWS.items() if n not in missing and n != "shuffled labels"}
    jobs = score_jobs(adata, keys)
    if executor is not None:  # the batch chapter's UMAPs too
        prefetch(adata, jobs, executor, umaps=[(k, None) for k in (PCA_KEY, NB_KEY, COND_KEY)] + [(NB_KEY, test)])
    n_rows = len(keys) + 1
    table = pd.concat([benchmark(adata, k, **kw) for k, kw in jobs[:n_rows]])
    keys_train, kw_train = jobs[n_rows]
    train = benchmark(adata, keys_train, **kw_train)[[MIXING, BIO]]
    scope_keys = {n: ROWS[n][0] for n in SCOPE_ROWS}
    cal = calibrate(adata, choice.best.spec, executor=executor)
    thr, dose = thresholds(cal), dose_table(cal)
    kinds = {n: kind for n, (_, kind) in ROWS.items() if n in table.index}
    timing = pd.DataFrame({"wall time (s)": [sv.seconds if sv else np.nan, nb.metrics.get("seconds", np.nan),
                                             cond.metrics.get("seconds", np.nan)],
                           "epochs": [sv.epochs if sv else np.nan, nb.metrics.get("epochs", np.nan),
                                      cond.metrics.get("epochs", np.nan)]},
                          index=["scVI (scvi-tools)", "our NB", "our NB +batch"])
    return Evidence(choice, nb, cond, table, missing, train, thr, dose,
                    verdict_table(table, kinds, thr), _scope_table(adata, scope_keys, thr, test),
                    scope_labels(adata), timing)


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


def glue(ev: Evidence) -> dict:
    """Numbers and generated sentences for the batch chapter and the conclusions.

    Parameters
    ----------
    ev
        :func:`batch_evidence` output.

    Returns
    -------
    dict
        Glue key -> str.
    """
    from ..calls.calibration import FPR, NULL_SEEDS, VAE_DOSES
    from ..calls.verdicts import position, scope_sentence

    v = ev.verdicts
    pca = v.loc["PCA"]
    flagged = pca[MIXING] < pca["mixing threshold"]
    data = (f"The unintegrated PCA of this data scores {pca[MIXING]:.3f} on batch mixing against its null "
            f"threshold of {pca['mixing threshold']:.3f}: "
            + ("**a batch effect is detected**." if flagged else "no batch effect is detected at this false-positive "
               "rate, which is not evidence of none (see the detection limit below)."))
    rows = "; ".join(f"{n}: **{r['verdict']}**" for n, r in v.iterrows())
    rows += "".join(f"; {n}: {why}" for n, why in ev.missing.items())
    rnd = ev.verdict_of("random embedding")
    sc = {r["embedding"]: r for _, r in ev.scoped.iterrows() if r["scope"] == "site within donor"}
    dc = {r["embedding"]: r for _, r in ev.scoped.iterrows() if r["scope"] == "donor within site"}
    lab = ev.labels
    site = scope_sentence(sc["our NB"], what="site effect", where=lab["site within donor"].replace("site ", "", 1),
                          cond=sc.get("our NB +batch"))
    donor = scope_sentence(dc["our NB"], what="donor effect", where=lab["donor within site"].replace("donor ", "", 1),
                           cond=dc.get("our NB +batch"))
    pos = (f"On the PCA curves this data's site effect sits "
           f"{position(mixing_of(ev, 'site within donor', 'PCA'), ev.dose, effect='site', kind='PCA')}, and its donor "
           f"effect {position(mixing_of(ev, 'donor within site', 'PCA'), ev.dose, effect='donor', kind='PCA')}.")
    t = ev.timing["wall time (s)"]
    speed = ("scvi-tools is not installed here, so its speed is not compared." if not np.isfinite(t.iloc[0]) else
             f"SCVI trained for {t.iloc[0]:.0f} s ({ev.timing['epochs'].iloc[0]:.0f} epochs) against {t.iloc[1]:.0f} s "
             f"({ev.timing['epochs'].iloc[1]:.0f} epochs) for our NB and {t.iloc[2]:.0f} s for our NB +batch, "
             "each on one torch thread.")
    return {"fpr": f"{100 * FPR:g}%", "n_null_seeds": str(len(NULL_SEEDS)), "n_shuffles": str(N_SHUFFLES),
            "vae_doses": " and ".join(f"{d:g}" for d in VAE_DOSES), "data_verdict": data, "row_verdicts": rows,
            "random_verdict": rnd, "limit_pca": ev.limit_text("PCA"), "limit_vae": ev.limit_text("NB VAE"),
            "site_sentence": site, "donor_sentence": donor, "curve_position": pos, "speed": speed}
