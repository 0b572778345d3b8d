"""Reading the GEO / starter h5ad files: paths, gzip, the sha256-checked download."""

from __future__ import annotations

import gzip
import hashlib
import os
import shutil
import warnings
from pathlib import Path

import anndata as ad
import numpy as np
import scipy.sparse as sp

from .._io import atomic_path, cache_dir
from .schema import DataError

GEO_FILENAME = "GSE194122_openproblems_neurips2021_cite_BMMC_processed.h5ad.gz"
GEO_URL = (
    "https://ftp.ncbi.nlm.nih.gov/geo/series/GSE194nnn/GSE194122/suppl/" + GEO_FILENAME
)
#: sha256 of the ``.gz`` as published by scvi-hub; a mismatch is an error.
GEO_SHA256 = "b9b50fade9349719cba23c97c6515d3501a32ee3735fe95fe51221d2e8a5f361"
#: Environment variable naming the GEO file (``.h5ad`` or ``.h5ad.gz``).
ENV_VAR = "CELLVAE_DATA"
_HDF5_MAGIC = b"\x89HDF\r\n\x1a\n"
_GZIP_MAGIC = b"\x1f\x8b"


def resolve_path(path: str | os.PathLike | None = None) -> Path:
    """Return the data path from ``path`` or the ``CELLVAE_DATA`` variable.

    Parameters
    ----------
    path
        Path to the data file (``~`` is expanded); ``None`` reads ``$CELLVAE_DATA``.

    Returns
    -------
    pathlib.Path
        The expanded path of an existing file.

    Raises
    ------
    DataError
        If ``path`` is ``None`` and ``$CELLVAE_DATA`` is unset or empty, or if the
        path does not exist or is not a regular file.
    """
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
        Directory to download into; ``None`` (default) uses ``geo/`` in the cellvae
        cache directory.  A file already there with the right hash is reused.

    Returns
    -------
    pathlib.Path
        Path of the verified ``.h5ad.gz`` file.

    Raises
    ------
    DataError
        If the downloaded file's sha256 does not match :data:`GEO_SHA256`.
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


def read_h5ad(
    path: str | os.PathLike | None = None, *, counts_only: bool = False, feature_type: str | None = None
) -> ad.AnnData:
    """Read an ``.h5ad`` or ``.h5ad.gz`` file, with a one-line error if it is not one.

    A gzip file is first decompressed into the cache directory (reused on later calls).

    Parameters
    ----------
    path
        Path to the file; ``None`` (default) reads ``$CELLVAE_DATA``.
    counts_only
        Read only ``layers['counts']`` (as float32 CSR), ``obs`` and ``var`` with anndata's
        element readers, leaving out ``X``, the other layers, ``obsm`` and ``uns``; a CSR
        layer is read in row blocks into preallocated arrays, so the peak memory is the
        float32 matrix plus one block.  This is how :func:`~cellvae.data.load_bmmc` reads
        the 2 GB GEO file.  A file without ``layers/counts`` gives an AnnData with no
        layers, which :func:`~cellvae.data.validate` then rejects.
    feature_type
        With ``counts_only``, keep only the features whose ``var['feature_types']`` is this
        (e.g. ``"GEX"`` of a CITE-seq file).  From a CSR layer (the GEO file's) they are
        selected block by block while reading, so the other features are never held in
        memory; a CSC or dense layer is read whole, then subset.  Ignored when ``var`` has
        no ``feature_types`` column.

    Returns
    -------
    anndata.AnnData
        The file's contents (or the parts named above), loaded into memory.

    Raises
    ------
    DataError
        If the path cannot be resolved (see :func:`resolve_path`), the gzip file is
        damaged, the file has no HDF5 signature, or anndata cannot read it.
    """
    if feature_type is not None and not counts_only:
        raise ValueError("feature_type selects features while reading: it needs counts_only=True")
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
            return _read_counts_only(p, feature_type) if counts_only else ad.read_h5ad(p)
    except Exception as exc:  # h5py/anndata raise many types
        raise DataError(f"{p} is HDF5 but not a readable h5ad file: {exc}") from exc


#: Rows per block when a CSR counts layer is read from disk.
READ_BLOCK_ROWS = 8192


def _read_counts_only(path: Path, feature_type: str | None = None) -> ad.AnnData:
    """``layers['counts']`` as float32 CSR, ``obs``, ``var`` and a simulator's record; nothing else is read."""
    import h5py
    from anndata.io import read_elem

    with h5py.File(path, "r") as f:
        obs, var = read_elem(f["obs"]), read_elem(f["var"])
        cols = np.arange(len(var))
        if feature_type is not None and "feature_types" in var:
            cols = np.flatnonzero(var["feature_types"].astype(str).to_numpy() == feature_type)
            var = var.iloc[cols]
        layers = {}
        if "layers" in f and "counts" in f["layers"]:
            elem = f["layers/counts"]
            enc = elem.attrs.get("encoding-type", "") if isinstance(elem, h5py.Group) else ""
            if enc == "csr_matrix":
                layers["counts"] = _read_csr(elem, cols)
            else:  # CSC or dense: read whole, subset the columns before converting
                m = read_elem(elem)
                m = m.tocsc()[:, cols] if sp.issparse(m) else np.asarray(m)[:, cols]
                layers["counts"] = sp.csr_matrix(m, dtype=np.float32)
        # a file cellvae simulate wrote keeps its record, so that it is never taken for real cells
        uns = {"simulation": read_elem(f["uns/simulation"])} if "uns" in f and "simulation" in f["uns"] else {}
    return ad.AnnData(obs=obs, var=var, layers=layers, uns=uns)


def _read_csr(group, cols: np.ndarray) -> sp.csr_matrix:
    """Columns ``cols`` of an on-disk CSR group as float32 CSR, one row block at a time.

    A first pass over the column indices counts the kept entries of each row, so the
    arrays are allocated once at their final size and filled by a second pass.
    """
    n_rows, n_cols = (int(v) for v in group.attrs["shape"])
    indptr = group["indptr"][...].astype(np.int64)
    remap = np.full(n_cols, -1, dtype=np.int64)
    remap[cols] = np.arange(len(cols))
    blocks = [(r, min(r + READ_BLOCK_ROWS, n_rows)) for r in range(0, n_rows, READ_BLOCK_ROWS)]

    def kept(r0, r1):  # positions kept, their row (within the block) and new column
        new = remap[group["indices"][indptr[r0]:indptr[r1]]]
        rows = np.repeat(np.arange(r1 - r0), np.diff(indptr[r0:r1 + 1]))
        return new >= 0, rows, new

    if len(cols) == n_cols:  # every column: the file's own row pointers (and no per-entry work)
        new_ptr = indptr
    else:
        per_row = np.zeros(n_rows, dtype=np.int64)
        for r0, r1 in blocks:
            mask, rows, _ = kept(r0, r1)
            per_row[r0:r1] = np.bincount(rows[mask], minlength=r1 - r0)
        new_ptr = np.concatenate([[0], np.cumsum(per_row)])
    nnz = int(new_ptr[-1])
    idx_dtype = np.int32 if max(nnz, len(cols)) < 2**31 else np.int64
    data, indices = np.empty(nnz, dtype=np.float32), np.empty(nnz, dtype=idx_dtype)
    every = len(cols) == n_cols
    for r0, r1 in blocks:
        a, b = new_ptr[r0], new_ptr[r1]
        values = group["data"][indptr[r0]:indptr[r1]]
        if every:  # nothing to select: copy the block as it is
            data[a:b], indices[a:b] = values, group["indices"][indptr[r0]:indptr[r1]]
            continue
        mask, _, new = kept(r0, r1)
        data[a:b] = values[mask]
        indices[a:b] = new[mask]
    return sp.csr_matrix((data, indices, new_ptr.astype(idx_dtype)), shape=(n_rows, len(cols)))
