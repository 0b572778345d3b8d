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

import ast
import functools
import hashlib
import json
import threading
from dataclasses import asdict, dataclass, field
from pathlib import Path

import anndata as ad
import numpy as np
from tqdm import tqdm

from ..._io import cache_dir
from ...data import fingerprint
from ...model import VAE, bootstrap_mean, save_checkpoint
from .grid import RunSpec
from .store import read_entry, write_entry

#: The code that shapes a trained run, relative to the cellvae package: the model, the trainer,
#: the data variants a run trains on, and the runner that trains and evaluates it.  Data loading
#: and simulation are left out: what they produce is covered by the data's fingerprint in
#: :func:`data_key`.  So is this module, which only names and stores results (a damaged or
#: foreign entry fails its checksum or spec check and is retrained).  Sentences, tables and
#: figures live in other modules, so editing them keeps every cached run.
TRAINING_SOURCES = ("model", "data/preprocess.py", "data/blocks.py", "study/runner/grid.py",
                    "study/runner/runs.py", "study/runner/ppc.py", "study/runner/pool.py")
PACKAGE = Path(__file__).resolve().parents[2]
#: CPython 3.11's ``ast.parse`` failed once with "AST constructor recursion depth mismatch" when
#: the grid's ETA thread and another thread parsed at once (2026-12-07; not reproduced on demand).
_AST_LOCK = threading.Lock()


def _strip_docstrings(tree: ast.AST) -> ast.AST:
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if (isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef))
                and body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant)
                and isinstance(body[0].value.value, str)):
            node.body = body[1:] or [ast.Pass()]
    return tree


def code_digest(source: str, *, strings: bool = True) -> str:
    """sha256 of what Python code does: its syntax tree without docstrings, comments or layout.

    Parameters
    ----------
    source
        Python source text.
    strings
        Count string constants (the text of sentences, labels, f-strings' literal parts);
        False blanks them, so rewording any text keeps the digest.

    Returns
    -------
    str
        64 hex digits; equal for two sources that differ only in docstrings, comments,
        blank lines or formatting (and, without ``strings``, the text of string constants).
    """
    with _AST_LOCK:
        tree = _strip_docstrings(ast.parse(source))
        if not strings:
            for node in ast.walk(tree):
                if isinstance(node, ast.Constant) and isinstance(node.value, str):
                    node.value = ""
        dump = ast.dump(tree, include_attributes=False)
    return hashlib.sha256(dump.encode()).hexdigest()


def tree_digest(sources: tuple[str, ...], *, code_only: bool = False, strings: bool = True) -> str:
    """sha256 of the ``.py`` files under ``sources`` (paths relative to the cellvae package).

    Parameters
    ----------
    sources
        Files or folders; a folder counts every ``.py`` file below it, ``""`` the whole package.
    code_only
        Hash each file's :func:`code_digest` instead of its bytes, so docstrings and
        comments do not count.
    strings
        With ``code_only``, whether string constants count (see :func:`code_digest`).

    Returns
    -------
    str
        16 hex digits.
    """
    h = hashlib.sha256()
    for rel in sources:
        p = PACKAGE / rel
        for f in sorted(p.rglob("*.py")) if p.is_dir() else [p]:
            body = code_digest(f.read_text(), strings=strings).encode() if code_only else f.read_bytes()
            h.update(f.relative_to(PACKAGE).as_posix().encode() + b"\0" + body)
    return h.hexdigest()[:16]


@functools.lru_cache(maxsize=1)
def source_digest() -> str:
    """:func:`tree_digest` of the code that trains and evaluates runs (:data:`TRAINING_SOURCES`).

    Returns
    -------
    str
        16 hex digits; docstrings and comments do not count.
    """
    return tree_digest(TRAINING_SOURCES, code_only=True)


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
            A run key, from :meth:`cellvae.study.runner.grid.RunSpec.key`.

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
            The result with ``cached=True``; None when absent, or when the entry is corrupt
            (:func:`~cellvae.study.runner.store.read_entry`) or holds another spec, in
            which case it is deleted and reported.
        """
        arrays = read_entry(self.path(key))
        if arrays is None:
            return None
        meta = json.loads(str(arrays.pop("meta")))
        if meta["spec"] != asdict(spec):
            tqdm.write(f"cellvae: cache entry {key}.npz holds another run's spec; retraining")
            self.path(key).unlink(missing_ok=True)
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
        if module is not None:
            save_checkpoint(self.root / f"{key}.pt", module, spec=asdict(res.spec))
        write_entry(self.path(key), arrays | {"meta": np.array(meta_json)})
