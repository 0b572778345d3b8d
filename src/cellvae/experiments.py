"""The experiment grid, a disk cache of trained runs, and a runner that can fan out.

Each :class:`RunSpec` is trained on the ``train`` split of a prepared AnnData and
evaluated on both splits.  Results (metrics, history, latent means) and the
trained weights are cached under ``$CELLVAE_CACHE/runs``, keyed by the spec, the
data fingerprint and the package version.  Runs are independent: ``run_all``
accepts any :class:`concurrent.futures.Executor`, so a process pool (or a
distributed engine with the same interface) can run them.
"""

from __future__ import annotations

import hashlib
import json
import time
from concurrent.futures import Executor
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import anndata as ad
import numpy as np
import pandas as pd
from tqdm import tqdm

from . import __version__
from ._io import atomic_path, cache_dir
from .checkpoint import save_checkpoint
from .config import COUNT_LIKELIHOODS, TrainConfig, VAEConfig
from .data import fingerprint, get_variant
from .evaluate import active_units, bootstrap_mean, evaluate, iwae, latent_mean
from .module import VAE
from .trainer import TrainingDiverged, seed_everything, train

#: The original study's architectures: name -> (latent, hidden).
ARCHITECTURES = {"M1": (10, 256), "M2": (50, 256), "M3": (100, 256), "M4": (50, 512), "M5": (50, 1024)}
#: What each model family is trained on: name -> (data variant, likelihood, reduction).
FAMILIES = {
    "gaussian/preprocessed": ("preprocessed", "gaussian", "sum"),
    "gaussian/processed": ("processed", "gaussian", "sum"),
    "nb/raw": ("raw", "nb", "sum"),
    # The original study's objective: fixed unit variance, loss averaged over matrix elements.
    "original": ("processed", "gaussian_fixed", "mean"),
    # Ablations of it: the same loss on scaled counts (large values), and the summed ELBO on log data.
    "original/preprocessed": ("preprocessed", "gaussian_fixed", "mean"),
    "fixed-variance/ELBO": ("processed", "gaussian_fixed", "sum"),
}


@dataclass(frozen=True)
class RunSpec:
    arch: str                 # architecture name (M1..M5) for tables
    family: str               # model family label (a FAMILIES key or a free label)
    variant: str              # data variant the model sees: raw, preprocessed, processed
    likelihood: str           # decoder likelihood
    n_latent: int             # latent dimensions
    n_hidden: int             # hidden units per layer
    beta: float = 1.0         # KL weight
    conditional: bool = False  # condition encoder and decoder on obs['batch']
    reduction: str = "sum"    # "sum" (the ELBO) or "mean" (the original's objective)
    seed: int = 0             # initialisation and training seed
    max_epochs: int = 20      # epoch cap
    patience: int = 5         # early-stopping patience
    kl_warmup_epochs: int = 5  # KL warm-up epochs
    batch_size: int = 512     # cells per minibatch
    lr: float = 1e-3          # Adam learning rate
    iwae_k: int = 20          # importance samples for the held-out IWAE bound

    @property
    def label(self) -> str:
        tag = " +batch" if self.conditional else ""
        return f"{self.arch} {self.family}{tag} beta={self.beta:g}"

    def key(self, data_fingerprint: str) -> str:
        """Cache key: the spec, the data fingerprint and the package version."""
        blob = json.dumps({"spec": asdict(self), "data": data_fingerprint, "version": __version__},
                          sort_keys=True)
        return hashlib.sha256(blob.encode()).hexdigest()[:24]


def grid_specs(families=("gaussian/preprocessed", "gaussian/processed", "nb/raw"), **overrides) -> list[RunSpec]:
    """Every architecture x family, in the original's naming."""
    return [RunSpec(arch=a, family=f, variant=FAMILIES[f][0], likelihood=FAMILIES[f][1],
                    reduction=FAMILIES[f][2], n_latent=lat, n_hidden=hid, **overrides)
            for f in families for a, (lat, hid) in ARCHITECTURES.items()]


def report_specs() -> list[RunSpec]:
    """Every run the results chapter shows: the 5 x 4 grid plus the two M1 ablations."""
    specs = grid_specs(families=("gaussian/preprocessed", "gaussian/processed", "nb/raw", "original"))
    m1 = [s for s in specs if s.arch == "M1" and s.family == "original"][0]
    for fam in ("original/preprocessed", "fixed-variance/ELBO"):
        specs.append(replace(m1, family=fam, variant=FAMILIES[fam][0], reduction=FAMILIES[fam][2]))
    return specs


#: Epochs for the batch-effect comparison. A conditional VAE removes batch information from z
#: only once the KL term has had time to push it out, so both the plain and the conditional NB
#: model are trained longer there (and equally long, for a fair comparison).
BATCH_EPOCHS = 60


def batch_pair(spec: RunSpec) -> tuple[RunSpec, RunSpec]:
    """The plain and the batch-conditional version of ``spec``, trained for BATCH_EPOCHS."""
    nb = replace(spec, max_epochs=BATCH_EPOCHS, patience=10)
    return nb, replace(nb, conditional=True)


def batch_embeddings(adata: ad.AnnData, results: list[RunResult], *, progress: bool = False):
    """The embeddings the batch-effect chapter scores, from the ``report_specs`` results.

    Returns the model choice, the plain and conditional NB runs (BATCH_EPOCHS), and a dict
    name -> embedding: PCA of log data, the chosen architecture's Gaussian models, NB, NB +batch.
    """
    from .metrics import pca_embedding
    from .summaries import choose_model

    choice = choose_model(results, family="nb/raw")
    arch = choice.best.spec.arch
    pick = {r.spec.family: r for r in results if r.spec.arch == arch}
    nb, cond = run_all(adata, list(batch_pair(choice.best.spec)), progress=progress)
    emb = {
        "PCA (log data)": pca_embedding(get_variant(adata, "processed")),
        f"{arch} Gaussian/preprocessed": pick["gaussian/preprocessed"].latent,
        f"{arch} Gaussian/log": pick["gaussian/processed"].latent,
        f"{arch} NB": nb.latent,
        f"{arch} NB +batch": cond.latent,
    }
    return choice, nb, cond, emb


def variant_of(spec: RunSpec, **changes) -> RunSpec:
    """A copy of ``spec`` with some fields changed (beta sweep, conditional model, seeds)."""
    return replace(spec, **changes)


@dataclass
class RunResult:
    spec: RunSpec
    metrics: dict                     # scalar results (see run_one)
    history: list = field(default_factory=list)
    latent: np.ndarray | None = None  # E[z|x] for every cell of the AnnData, in its order
    iwae_cells: np.ndarray | None = None  # per-test-cell IWAE bound, for paired comparisons
    cached: bool = False              # True when loaded from the cache


class RunCache:
    """Directory of ``<key>.npz`` results (+ ``<key>.pt`` weights), written atomically."""

    def __init__(self, root: str | Path | None = None):
        self.root = Path(root) if root else cache_dir() / "runs"
        self.root.mkdir(parents=True, exist_ok=True)

    def path(self, key: str) -> Path:
        return self.root / f"{key}.npz"

    def load(self, key: str, spec: RunSpec) -> RunResult | None:
        """The cached result, or None when absent; a corrupt entry is deleted and reported."""
        p = self.path(key)
        if not p.exists():
            return None
        try:
            with np.load(p, allow_pickle=False) as z:
                meta = json.loads(str(z["meta"]))
                latent = z["latent"] if "latent" in z else None
                iw = z["iwae_cells"] if "iwae_cells" in z else None
            digest = hashlib.sha256(latent.tobytes()).hexdigest() if latent is not None else ""
            if meta["spec"] != asdict(spec) or meta["latent_sha256"] != digest:
                raise ValueError("content does not match its checksum or spec")
        except Exception as exc:  # truncated zip, bad JSON, wrong checksum ...
            tqdm.write(f"cellvae: cache entry {p.name} is corrupt ({type(exc).__name__}); retraining")
            p.unlink(missing_ok=True)
            return None
        return RunResult(spec, meta["metrics"], meta["history"], latent, iw, cached=True)

    def save(self, key: str, res: RunResult, module: VAE | None = None) -> None:
        meta = {"spec": asdict(res.spec), "metrics": res.metrics, "history": res.history,
                "latent_sha256": hashlib.sha256(res.latent.tobytes()).hexdigest() if res.latent is not None else ""}
        arrays = {"meta": np.array(json.dumps(meta))}
        if res.latent is not None:
            arrays["latent"], arrays["iwae_cells"] = res.latent, res.iwae_cells
        if module is not None:
            save_checkpoint(self.root / f"{key}.pt", module, spec=asdict(res.spec))
        with atomic_path(self.path(key)) as tmp, open(tmp, "wb") as fh:
            np.savez(fh, **arrays)


def _batch_codes(adata: ad.AnnData) -> np.ndarray:
    return pd.Categorical(adata.obs["batch"].astype(str)).codes.astype(np.int64)


def run_one(adata: ad.AnnData, spec: RunSpec) -> tuple[RunResult, VAE | None]:
    """Train ``spec`` on the train split; evaluate on train and test (nats per cell)."""
    train_mask = (adata.obs["split"] == "train").to_numpy()
    x = get_variant(adata, spec.variant)
    codes = _batch_codes(adata)
    n_batch = int(codes.max()) + 1 if spec.conditional else 0
    b = codes if spec.conditional else None
    seed_everything(spec.seed)
    cfg = VAEConfig(n_input=adata.n_vars, n_latent=spec.n_latent, n_hidden=spec.n_hidden,
                    likelihood=spec.likelihood, beta=spec.beta, reduction=spec.reduction,
                    input_transform="log1p" if spec.likelihood in COUNT_LIKELIHOODS else "none",
                    n_batch=n_batch, encode_batch=spec.conditional)
    module = VAE(cfg)
    tcfg = TrainConfig(max_epochs=spec.max_epochs, batch_size=spec.batch_size, lr=spec.lr,
                       patience=spec.patience, kl_warmup_epochs=spec.kl_warmup_epochs, seed=spec.seed,
                       progress=False)
    t0 = time.perf_counter()

    def sub(mask):
        return None if b is None else b[mask]

    try:
        tr = train(module, x[train_mask], batch=sub(train_mask), config=tcfg)
    except TrainingDiverged as exc:
        return RunResult(spec, {"status": str(exc), "seconds": time.perf_counter() - t0}), None
    m = {"status": "ok", "seconds": tr.seconds, "epochs": len(tr.history), "best_epoch": tr.best_epoch,
         "stopped": tr.stopped}
    for split, mask in (("train", train_mask), ("test", ~train_mask)):
        ev = evaluate(module, x[mask], batch=sub(mask), seed=spec.seed)
        m.update({f"{split}_{k}": ev[f"{k}_mean"] for k in ("elbo", "recon", "kl")})
    test_iw = iwae(module, x[~train_mask], batch=sub(~train_mask), k=spec.iwae_k, seed=spec.seed)
    m["test_iwae"], m["test_iwae_se"] = bootstrap_mean(test_iw, seed=spec.seed)
    latent = latent_mean(module, x, batch=b)
    m["active_units"], var = active_units(latent[~train_mask])
    m["unit_activity"] = var.tolist()
    return RunResult(spec, m, tr.history, latent, test_iw), module


def _cached_run(adata: ad.AnnData, spec: RunSpec, cache_root: str) -> RunResult:
    cache = RunCache(cache_root)
    key = spec.key(adata.uns["cellvae"]["fingerprint"])
    hit = cache.load(key, spec)
    if hit is not None:
        return hit
    res, module = run_one(adata, spec)
    cache.save(key, res, module)
    return res


def run_all(adata: ad.AnnData, specs: list[RunSpec], *, cache: RunCache | None = None,
            executor: Executor | None = None, progress: bool = True) -> list[RunResult]:
    """Run (or load) every spec; results come back in the order of ``specs``.

    Parameters
    ----------
    adata
        Prepared data (:func:`cellvae.data.prepare`), with ``obs['split']``.
    specs
        The runs.
    cache
        Where results live; defaults to ``$CELLVAE_CACHE/runs``.
    executor
        Any ``concurrent.futures.Executor`` (e.g. a ``ProcessPoolExecutor``); None runs serially.
    progress
        Show a progress bar over runs.
    """
    if "fingerprint" not in adata.uns.get("cellvae", {}):
        adata.uns.setdefault("cellvae", {})["fingerprint"] = fingerprint(adata)
    root = str((cache or RunCache()).root)
    bar = tqdm(total=len(specs), disable=not progress, desc="experiments")
    if executor is None:
        out = []
        for s in specs:
            bar.set_postfix_str(s.label)
            out.append(_cached_run(adata, s, root))
            bar.update()
    else:
        futures = [executor.submit(_cached_run, adata, s, root) for s in specs]
        out = []
        for f in futures:
            out.append(f.result())
            bar.update()
    bar.close()
    return out


def paired_difference(a: RunResult, b: RunResult, *, n_boot: int = 2000, seed: int = 0) -> tuple[float, float]:
    """Mean per-cell IWAE difference a - b on the same test cells, and its bootstrap s.e."""
    d = np.asarray(a.iwae_cells) - np.asarray(b.iwae_cells)
    return bootstrap_mean(d, n_boot=n_boot, seed=seed)


def results_table(results: list[RunResult]) -> pd.DataFrame:
    """One row per run: per-cell ELBO / recon / KL on train and test (nats), IWAE, activity, time."""
    rows = []
    for r in results:
        s, m = r.spec, r.metrics
        rows.append({
            "model": s.arch, "family": s.family + (" +batch" if s.conditional else ""), "beta": s.beta,
            "latent": s.n_latent, "hidden": s.n_hidden,
            "train ELBO": m.get("train_elbo", np.nan), "test ELBO": m.get("test_elbo", np.nan),
            "test recon": m.get("test_recon", np.nan), "test KL": m.get("test_kl", np.nan),
            "train recon": m.get("train_recon", np.nan), "train KL": m.get("train_kl", np.nan),
            "test IWAE": m.get("test_iwae", np.nan), "IWAE s.e.": m.get("test_iwae_se", np.nan),
            "active units": m.get("active_units", np.nan), "epochs": m.get("epochs", np.nan),
            "seconds": m.get("seconds", np.nan), "status": m.get("status", "ok"),
        })
    return pd.DataFrame(rows)
