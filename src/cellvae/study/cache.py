"""The run cache: one checksummed entry per trained run, keyed by everything that shapes it.

An entry is ``<key>.npz`` (metrics, history, latent means, per-test-cell IWAE) plus
``<key>.pt`` (the weights).  The key covers the spec (model and training configs), the
data (counts, cell and gene names), the split, the batch and label columns, the package
version and the source of the code that trains and evaluates a run; so a changed split, a
subset or an edited trainer never hits an old entry.  A sha256 over the metadata (spec,
metrics, history) and every array is checked on load, so a tampered metric or latent is
detected and retrained.  Writes are atomic.
"""

from __future__ import annotations

import functools
import hashlib
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

import anndata as ad
import numpy as np
from tqdm import tqdm

from .._io import atomic_path, cache_dir
from ..data import fingerprint
from ..model import VAE, bootstrap_mean, save_checkpoint
from .grid import RunSpec

#: The code whose edits change what a cached run holds (relative to the cellvae package).
_SOURCES = ("data", "model", "study/grid.py", "study/runs.py", "study/cache.py", "study/ppc.py",
            "study/local.py")


def tree_digest(sources: tuple[str, ...]) -> str:
    """sha256 of the ``.py`` files under ``sources`` (paths relative to the cellvae package).

    Parameters
    ----------
    sources
        Files or folders; a folder counts every ``.py`` file below it, ``""`` the whole package.

    Returns
    -------
    str
        16 hex digits.
    """
    root = Path(__file__).resolve().parents[1]
    h = hashlib.sha256()
    for rel in sources:
        p = root / rel
        for f in sorted(p.rglob("*.py")) if p.is_dir() else [p]:
            h.update(f.relative_to(root).as_posix().encode() + b"\0" + f.read_bytes())
    return h.hexdigest()[:16]


@functools.lru_cache(maxsize=1)
def source_digest() -> str:
    """:func:`tree_digest` of the source that trains and evaluates runs (:data:`_SOURCES`).

    Returns
    -------
    str
        16 hex digits.
    """
    return tree_digest(_SOURCES)


def data_key(adata: ad.AnnData, *, batch_key: str = "batch", label_key: str = "cell_type") -> str:
    """What a run's result depends on besides its spec: data, split, columns and code.

    Parameters
    ----------
    adata
        Prepared data with ``obs['split']``.
    batch_key, label_key
        obs columns of batches and cell types (a missing one counts as empty).

    Returns
    -------
    str
        16 hex digits.
    """
    # Recomputed, never read from uns: a subset or copy carries its parent's stored fingerprint.
    h = hashlib.sha256(f"{fingerprint(adata)}|{source_digest()}".encode())
    for col in ("split", batch_key, label_key):
        vals = adata.obs[col].astype(str) if col in adata.obs else []
        h.update(col.encode() + b"\0" + "\0".join(vals).encode() + b"\1")
    return h.hexdigest()[:16]


@dataclass
class RunResult:
    spec: RunSpec
    metrics: dict                     # scalar results (see run_one)
    history: list = field(default_factory=list)
    latent: np.ndarray | None = None  # E[z|x] for every cell of the AnnData, in its order
    iwae_cells: np.ndarray | None = None  # per-test-cell IWAE bound, for paired comparisons
    cached: bool = False              # True when loaded from the cache


def paired_difference(a: RunResult, b: RunResult, *, n_boot: int = 2000, seed: int = 0) -> tuple[float, float]:
    """Mean per-cell IWAE difference a - b on the same test cells, and its bootstrap s.e.

    Parameters
    ----------
    a, b
        Results on the same data and split, both with ``iwae_cells``.
    n_boot
        Bootstrap resamples of the test cells.
    seed
        Seed of the resampling.

    Returns
    -------
    mean : float
        Mean difference in nats per cell (positive when ``a`` is better).
    se : float
        Its bootstrap standard error.
    """
    d = np.asarray(a.iwae_cells) - np.asarray(b.iwae_cells)
    return bootstrap_mean(d, n_boot=n_boot, seed=seed)


class RunCache:
    """Directory of ``<key>.npz`` results (+ ``<key>.pt`` weights), written atomically."""

    ARRAYS = ("latent", "iwae_cells")

    def __init__(self, root: str | Path | None = None):
        self.root = Path(root) if root else cache_dir() / "runs"
        self.root.mkdir(parents=True, exist_ok=True)

    def path(self, key: str) -> Path:
        """Where the result of ``key`` is stored.

        Parameters
        ----------
        key
            A run key, from :meth:`cellvae.study.grid.RunSpec.key`.

        Returns
        -------
        pathlib.Path
            ``<root>/<key>.npz`` (it need not exist).
        """
        return self.root / f"{key}.npz"

    def load(self, key: str, spec: RunSpec) -> RunResult | None:
        """The cached result, or None when absent; a corrupt entry is deleted and reported.

        Parameters
        ----------
        key
            The run key.
        spec
            The spec the entry must have been saved with.

        Returns
        -------
        RunResult or None
            The result with ``cached=True``, or None when absent or corrupt.

        Raises
        ------
        ValueError
            Raised internally, and caught, when the entry's spec or checksum does not
            match; like any load error it makes the entry count as corrupt, never escapes.
        """
        p = self.path(key)
        if not p.exists():
            return None
        try:
            with np.load(p, allow_pickle=False) as z:
                meta_json, stored = str(z["meta"]), str(z["sha256"])
                arrays = {k: z[k] for k in self.ARRAYS if k in z.files}
            meta = json.loads(meta_json)
            if stored != _digest(meta_json, arrays) or meta["spec"] != asdict(spec):
                raise ValueError("content does not match its checksum or spec")
        except Exception as exc:  # truncated zip, bad JSON, wrong checksum ...
            tqdm.write(f"cellvae: cache entry {p.name} is corrupt ({type(exc).__name__}); retraining")
            p.unlink(missing_ok=True)
            return None
        return RunResult(spec, meta["metrics"], meta["history"], arrays.get("latent"),
                         arrays.get("iwae_cells"), cached=True)

    def save(self, key: str, res: RunResult, module: VAE | None = None) -> None:
        """Write a result to ``<key>.npz`` atomically, and the weights to ``<key>.pt``.

        Parameters
        ----------
        key
            The run key.
        res
            The result; a sha256 over its metadata and arrays is stored for :meth:`load`.
        module
            The trained model, checkpointed with its spec; None writes no weights.
        """
        meta_json = json.dumps({"spec": asdict(res.spec), "metrics": res.metrics,
                                "history": res.history})
        arrays = {k: v for k, v in (("latent", res.latent), ("iwae_cells", res.iwae_cells))
                  if v is not None}
        arrays |= {"meta": np.array(meta_json), "sha256": np.array(_digest(meta_json, arrays))}
        if module is not None:
            save_checkpoint(self.root / f"{key}.pt", module, spec=asdict(res.spec))
        with atomic_path(self.path(key)) as tmp, open(tmp, "wb") as fh:
            np.savez(fh, **arrays)




def _digest(meta_json: str, arrays: dict[str, np.ndarray]) -> str:
    h = hashlib.sha256(meta_json.encode())
    for k in sorted(arrays):
        a = np.ascontiguousarray(arrays[k])
        h.update(f"{k}|{a.dtype.str}|{a.shape}".encode() + a.tobytes())
    return h.hexdigest()
