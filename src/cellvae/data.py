"""Loading, validating and preparing the GSE194122 BMMC CITE-seq data.

The same :func:`prepare` path runs on the real GEO file, on the Open Problems
starter subset and on :func:`cellvae.simulate.simulate_bmmc` output, so every
chapter of the report exercises the loader whichever data it runs on.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import shutil
import warnings
from pathlib import Path

import anndata as ad
import numpy as np
import pandas as pd
import scipy.sparse as sp

from ._io import atomic_path, cache_dir

GEO_FILENAME = "GSE194122_openproblems_neurips2021_cite_BMMC_processed.h5ad.gz"
GEO_URL = (
    "https://ftp.ncbi.nlm.nih.gov/geo/series/GSE194nnn/GSE194122/suppl/" + GEO_FILENAME
)
#: sha256 of the ``.gz`` as published by scvi-hub; a mismatch is an error.
GEO_SHA256 = "b9b50fade9349719cba23c97c6515d3501a32ee3735fe95fe51221d2e8a5f361"
#: Environment variable naming the GEO file (``.h5ad`` or ``.h5ad.gz``).
ENV_VAR = "CELLVAE_DATA"
REQUIRED_OBS = ("cell_type", "batch")
VARIANTS = ("raw", "preprocessed", "processed", "pearson")
#: Starter-kit obs names -> GEO obs names (the GEO file prefixes GEX_/ADT_).
STARTER_COLUMNS = {
    "n_genes_by_counts": "GEX_n_genes_by_counts",
    "pct_counts_mt": "GEX_pct_counts_mt",
    "size_factors": "GEX_size_factors",
    "phase": "GEX_phase",
    "pseudotime_order_GEX": "GEX_pseudotime_order",
    "pseudotime_order_ADT": "ADT_pseudotime_order",
}
_HDF5_MAGIC = b"\x89HDF\r\n\x1a\n"
_GZIP_MAGIC = b"\x1f\x8b"


class DataError(ValueError):
    """Input data that cellvae cannot use; the message says what to do."""


def resolve_path(path: str | os.PathLike | None = None) -> Path:
    """Return the data path from ``path`` or the ``CELLVAE_DATA`` variable."""
    if path is None:
        path = os.environ.get(ENV_VAR)
        if not path:
            raise DataError(f"no data path given and ${ENV_VAR} is not set")
    p = Path(path).expanduser()
    if not p.exists():
        raise DataError(f"data file not found: {p}")
    if not p.is_file():
        raise DataError(f"data path is not a file: {p}")
    return p


def fetch_geo(*, dest: str | os.PathLike | None = None) -> Path:
    """Download the GEO ``.h5ad.gz`` (about 2 GB) and verify its sha256.

    Parameters
    ----------
    dest
        Directory to download into; defaults to the cellvae cache directory.
    """
    import pooch

    dest = Path(dest) if dest else cache_dir() / "geo"
    try:
        fn = pooch.retrieve(
            GEO_URL, known_hash=f"sha256:{GEO_SHA256}", fname=GEO_FILENAME,
            path=dest, progressbar=True,
        )
    except ValueError as exc:  # pooch's hash mismatch
        raise DataError(f"GEO download failed its sha256 check ({exc}); not using it") from exc
    return Path(fn)


def _decompressed(path: Path) -> Path:
    """Gunzip ``path`` into the cache (never beside the input) and return it."""
    st = path.stat()
    key = hashlib.sha256(f"{path.resolve()}|{st.st_size}|{st.st_mtime_ns}".encode()).hexdigest()
    out = cache_dir() / "decompressed" / f"{key[:16]}_{path.name[:-3]}"
    if out.exists() and _magic(out) == _HDF5_MAGIC:
        return out
    out.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(out) as tmp, gzip.open(path, "rb") as src, open(tmp, "wb") as dst:
        shutil.copyfileobj(src, dst, length=1 << 22)
    return out


def _magic(path: Path) -> bytes:
    with open(path, "rb") as fh:
        return fh.read(8)


def read_h5ad(path: str | os.PathLike | None = None) -> ad.AnnData:
    """Read an ``.h5ad`` or ``.h5ad.gz`` file, with a one-line error if it is not one."""
    p = resolve_path(path)
    magic = _magic(p)
    if magic.startswith(_GZIP_MAGIC):
        try:
            p = _decompressed(p)
        except (OSError, EOFError) as exc:
            raise DataError(f"{p} is a damaged gzip file: {exc}") from exc
        magic = _magic(p)
    if magic != _HDF5_MAGIC:
        raise DataError(f"{p} is not an h5ad file (no HDF5 signature)")
    try:
        with warnings.catch_warnings():  # old starter files lack encoding metadata; harmless
            warnings.filterwarnings("ignore", message=".*without encoding metadata")
            return ad.read_h5ad(p)
    except Exception as exc:  # h5py/anndata raise many types
        raise DataError(f"{p} is HDF5 but not a readable h5ad file: {exc}") from exc


def check_counts(x) -> None:
    """Raise :class:`DataError` unless ``x`` holds finite non-negative integers."""
    vals = x.data if sp.issparse(x) else np.asarray(x)
    if vals.size == 0:
        return
    if not np.all(np.isfinite(vals)):
        raise DataError("counts contain NaN or inf; raw counts must be finite integers")
    if vals.min() < 0:
        raise DataError("counts contain negative values; raw counts must be >= 0")
    if not np.all(vals == np.round(vals)):
        raise DataError("counts are not integers; pass raw UMI counts, not normalised values")


def harmonize_obs(adata: ad.AnnData) -> str:
    """Bring starter-kit obs names to the GEO schema in place; return the schema name."""
    obs = adata.obs
    if "GEX_n_genes_by_counts" in obs:
        schema = "geo"
    elif "n_genes_by_counts" in obs or "pseudotime_order_GEX" in obs:
        schema = "starter"
        adata.obs = obs.rename(columns={k: v for k, v in STARTER_COLUMNS.items() if k in obs})
    else:
        schema = "unknown"
    obs = adata.obs
    if "batch" in obs and ("Site" not in obs or "DonorNumber" not in obs):
        parts = obs["batch"].astype(str).str.extract(r"^s(\d+)d(\d+)$")
        if parts.notna().all().all():
            obs["Site"] = pd.Categorical("site" + parts[0])
            obs["DonorNumber"] = pd.Categorical("donor" + parts[1])
    return schema


def validate(adata: ad.AnnData, *, n_top_genes: int | None = None, layer: str = "counts") -> None:
    """Check the schema cellvae relies on, raising a one-line :class:`DataError`."""
    if layer not in adata.layers:
        raise DataError(
            f"no layers['{layer}'] with raw counts; found layers {sorted(adata.layers)}"
        )
    missing = [c for c in REQUIRED_OBS if c not in adata.obs]
    if missing:
        raise DataError(f"obs is missing required column(s) {missing}")
    check_counts(adata.layers[layer])
    if n_top_genes is not None:
        if n_top_genes < 1:
            raise DataError(f"n_top_genes must be >= 1, got {n_top_genes}")
        if adata.n_vars < n_top_genes:
            raise DataError(
                f"only {adata.n_vars} genes but {n_top_genes} highly variable genes requested"
            )


def select_hvgs(adata: ad.AnnData, n_top_genes: int) -> np.ndarray:
    """Indices of the top ``n_top_genes`` genes by Seurat-style normalised dispersion.

    Computed on log1p(counts / size factor) without densifying the matrix.
    """
    if n_top_genes >= adata.n_vars:
        return np.arange(adata.n_vars)
    logx = normalise(adata, log=True)
    mean = np.asarray(logx.mean(axis=0)).ravel()
    var = np.asarray(logx.multiply(logx).mean(axis=0)).ravel() - mean**2
    disp = np.log(np.maximum(var, 1e-12) / np.maximum(mean, 1e-12))
    bins = pd.cut(mean, 20, labels=False)
    z = pd.Series(disp).groupby(bins).transform(lambda d: (d - d.mean()) / (d.std() or 1.0))
    z = np.nan_to_num(z.to_numpy(), nan=-np.inf)
    z[mean <= 0] = -np.inf
    return np.sort(np.argsort(-z, kind="stable")[:n_top_genes])


def size_factors(adata: ad.AnnData) -> np.ndarray:
    """Per-cell size factors: the file's ``GEX_size_factors`` or library size / its mean."""
    if "GEX_size_factors" in adata.obs:
        sf = adata.obs["GEX_size_factors"].to_numpy(dtype=np.float64)
        if np.all(np.isfinite(sf)) and np.all(sf > 0):
            return sf
    lib = np.asarray(adata.layers["counts"].sum(axis=1)).ravel().astype(np.float64)
    lib[lib == 0] = 1.0
    return lib / lib.mean()


def normalise(adata: ad.AnnData, *, log: bool) -> sp.csr_matrix:
    """counts / size factor ("preprocessed"), optionally log1p'd ("processed")."""
    x = sp.csr_matrix(adata.layers["counts"], dtype=np.float32)
    x = sp.csr_matrix(sp.diags(1.0 / size_factors(adata).astype(np.float32)) @ x)
    if log:
        x.data = np.log1p(x.data)
    return x


def pearson_residuals(counts, *, theta: float = 100.0) -> np.ndarray:
    """Analytic Pearson residuals of Lause et al. 2021, clipped at sqrt(n_cells); dense."""
    x = sp.csr_matrix(counts, dtype=np.float64)
    rows, cols = np.asarray(x.sum(1)), np.asarray(x.sum(0))
    mu = rows @ cols / x.sum()
    r = (x.toarray() - mu) / np.sqrt(mu + mu**2 / theta)
    clip = np.sqrt(x.shape[0])
    return np.clip(r, -clip, clip).astype(np.float32)


def get_variant(adata: ad.AnnData, variant: str):
    """Matrix for one data variant: raw, preprocessed, processed (CSR) or pearson (dense)."""
    if variant == "raw":
        return sp.csr_matrix(adata.layers["counts"], dtype=np.float32)
    if variant == "preprocessed":
        return normalise(adata, log=False)
    if variant == "processed":
        return normalise(adata, log=True)
    if variant == "pearson":
        return pearson_residuals(adata.layers["counts"])
    raise DataError(f"unknown variant {variant!r}; choose one of {VARIANTS}")


def split_cells(n_obs: int, *, test_fraction: float = 0.2, seed: int = 0) -> np.ndarray:
    """Seeded boolean mask, True for test cells."""
    if not 0.0 < test_fraction < 1.0:
        raise DataError(f"test_fraction must be in (0, 1), got {test_fraction}")
    n_test = int(round(n_obs * test_fraction))
    if n_test == 0 or n_test == n_obs:
        raise DataError(f"a {test_fraction} split of {n_obs} cells leaves an empty train or test set")
    mask = np.zeros(n_obs, dtype=bool)
    mask[np.random.default_rng(seed).choice(n_obs, n_test, replace=False)] = True
    return mask


def prepare(
    adata: ad.AnnData, *, n_top_genes: int = 5000, test_fraction: float = 0.2, seed: int = 0
) -> ad.AnnData:
    """GEX features only, validated, top HVGs, seeded train/test split in ``obs['split']``."""
    if "feature_types" in adata.var:
        adata = adata[:, adata.var["feature_types"].astype(str) == "GEX"]
    adata = adata.copy()
    harmonize_obs(adata)
    validate(adata, n_top_genes=n_top_genes)
    adata.layers["counts"] = sp.csr_matrix(adata.layers["counts"], dtype=np.float32)
    adata = adata[:, select_hvgs(adata, n_top_genes)].copy()
    test = split_cells(adata.n_obs, test_fraction=test_fraction, seed=seed)
    adata.obs["split"] = pd.Categorical(np.where(test, "test", "train"), ["train", "test"])
    adata.X = adata.layers["counts"].copy()
    adata.uns["cellvae"] = {"n_top_genes": n_top_genes, "test_fraction": test_fraction,
                            "split_seed": seed, "fingerprint": fingerprint(adata)}
    return adata


def load_bmmc(
    path: str | os.PathLike | None = None,
    *,
    n_top_genes: int = 5000,
    test_fraction: float = 0.2,
    seed: int = 0,
) -> ad.AnnData:
    """Load the GEO file (path or ``$CELLVAE_DATA``) and :func:`prepare` it."""
    return prepare(read_h5ad(path), n_top_genes=n_top_genes, test_fraction=test_fraction, seed=seed)


def fingerprint(adata: ad.AnnData, layer: str = "counts") -> str:
    """Short sha256 of the counts, cell and gene names: the data part of cache keys."""
    x = sp.csr_matrix(adata.layers[layer])
    h = hashlib.sha256()
    for arr in (x.indptr, x.indices, x.data.astype(np.float32)):
        h.update(np.ascontiguousarray(arr).tobytes())
    h.update("\0".join(adata.obs_names).encode())
    h.update("\0".join(adata.var_names).encode())
    return h.hexdigest()[:16]
