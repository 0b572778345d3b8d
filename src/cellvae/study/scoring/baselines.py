"""The field's integration baselines beside our models: Harmony on PCA, and scvi-tools' SCVI.

Both are optional (the ``[book]`` extra installs them).  When one cannot be imported, its
function returns None and the batch chapter's row says "not installed"; the rest builds.
SCVI is trained on the same training cells as our models, with the same architecture, batch
size, learning rate, KL warm-up and early stopping on its validation ELBO at the same
patience, on one torch thread like every run of the grid, and cached on disk.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import anndata as ad
import numpy as np
import pandas as pd

from ...data import fingerprint
from ..runner import store
from ..runner.grid import RUN_THREADS, RunSpec
from ..runner.pool import torch_threads


def installed(module: str) -> bool:
    """Whether an optional baseline's package imports.

    Parameters
    ----------
    module
        ``"harmonypy"`` or ``"scvi"``.

    Returns
    -------
    bool
    """
    try:
        __import__(module)
    except Exception:  # noqa: BLE001 - a broken install counts as not installed
        return False
    return True


def harmony(adata: ad.AnnData, *, pca_key: str = "X_pca", batch_key: str = "batch",
            seed: int = 0) -> np.ndarray | None:
    """Harmony (harmonypy) on the PCA embedding, or None when harmonypy is not installed.

    Parameters
    ----------
    adata
        Data with ``obsm[pca_key]``.
    pca_key
        The unintegrated PCA.
    batch_key
        obs column Harmony corrects for.
    seed
        Harmony's k-means seed.

    Returns
    -------
    numpy.ndarray or None
        Cells x components, float32.
    """
    if not installed("harmonypy"):
        return None
    import harmonypy

    pcs = np.asarray(adata.obsm[pca_key], np.float64)
    meta = pd.DataFrame({"batch": adata.obs[batch_key].astype(str).to_numpy()})
    ho = harmonypy.run_harmony(pcs, meta, ["batch"], random_state=seed, verbose=False)
    z = np.asarray(ho.Z_corr)
    return (z if z.shape[0] == len(pcs) else z.T).astype(np.float32)


@dataclass
class ScviResult:
    """A trained SCVI's latent means and what its training took."""

    latent: np.ndarray  # cells x n_latent, every cell of the data
    seconds: float      # wall time of training
    epochs: int         # epochs trained before early stopping (or the cap)


def _scvi_key(adata: ad.AnnData, spec: RunSpec, batch_key: str) -> str:
    import scvi

    return store.key({"data": fingerprint(adata), "model": [spec.model.n_latent, spec.model.n_hidden,
                      spec.model.n_layers, spec.model.dropout], "train": repr(spec.train),
                      "batch": batch_key, "scvi": scvi.__version__})


def _train_scvi(adata: ad.AnnData, spec: RunSpec, batch_key: str) -> ScviResult:
    import scvi

    tr = spec.train
    full = ad.AnnData(X=adata.layers["counts"].copy(), obs=pd.DataFrame(
        {"batch": adata.obs[batch_key].astype(str).to_numpy()}, index=adata.obs_names.copy()))
    full.obs["batch"] = pd.Categorical(full.obs["batch"])
    train = full[(adata.obs["split"] == "train").to_numpy()].copy()
    scvi.settings.seed = tr.seed
    scvi.settings.dl_num_workers = 0
    scvi.model.SCVI.setup_anndata(train, batch_key="batch")
    m = spec.model
    model = scvi.model.SCVI(train, n_hidden=m.n_hidden, n_latent=m.n_latent, n_layers=m.n_layers,
                            dropout_rate=m.dropout, gene_likelihood="nb")
    t0 = time.perf_counter()
    model.train(max_epochs=tr.max_epochs, batch_size=tr.batch_size, train_size=1 - tr.validation_fraction,
                early_stopping=True, early_stopping_patience=tr.patience,
                early_stopping_monitor="elbo_validation", check_val_every_n_epoch=1,
                plan_kwargs={"lr": tr.lr, "n_epochs_kl_warmup": tr.kl_warmup_epochs},
                accelerator="cpu", enable_progress_bar=False, enable_model_summary=False)
    seconds = time.perf_counter() - t0
    scvi.model.SCVI.setup_anndata(full, batch_key="batch")
    latent = model.get_latent_representation(full).astype(np.float32)
    return ScviResult(latent, seconds, int(len(model.history["elbo_validation"])))


def scvi_baseline(adata: ad.AnnData, spec: RunSpec, *, batch_key: str = "batch") -> ScviResult | None:
    """scvi-tools' SCVI with its batch covariate, trained like ``spec``; None if not installed.

    Parameters
    ----------
    adata
        Prepared data with ``layers['counts']`` and ``obs['split']``; SCVI trains on the
        ``train`` cells (holding out its own validation share) and embeds every cell.
    spec
        Our model's run: its architecture and training rule are copied.
    batch_key
        obs column of batches.

    Returns
    -------
    ScviResult or None
        Loaded from the cache when this data, spec and scvi-tools version ran before.
    """
    if not installed("scvi"):
        return None
    def compute() -> dict:
        with torch_threads(RUN_THREADS):
            res = _train_scvi(adata, spec, batch_key)
        return {"latent": res.latent, "seconds": res.seconds, "epochs": res.epochs}

    z = store.cached("scvi", _scvi_key(adata, spec, batch_key), compute, codec=store.ARRAYS,
                     valid=lambda z: z["latent"].shape == (adata.n_obs, spec.model.n_latent))
    return ScviResult(z["latent"], float(z["seconds"]), int(z["epochs"]))


def scvi_from_path(path: str, spec: RunSpec, *, batch_key: str = "batch") -> bool:
    """:func:`scvi_baseline` on the data written at ``path``: what a pool worker runs.

    Lightning expects to own its process's main thread, which a process pool's task has;
    the result lands in the cache, where the batch chapter's call finds it.

    Parameters
    ----------
    path
        An h5ad written by :func:`~cellvae.study.runner.runs.shared_copy`.
    spec, batch_key
        As for :func:`scvi_baseline`.

    Returns
    -------
    bool
        Whether scvi-tools is installed (and the run is cached).
    """
    return scvi_baseline(ad.read_h5ad(path), spec, batch_key=batch_key) is not None
