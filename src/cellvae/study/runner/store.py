"""The one cache helper of the study: a content key, a checksummed entry, an atomic write.

Every cache of the study (runs, scores, UMAPs, nulls, baselines, the data copies workers
read) goes through here:

- :func:`key` hashes what an entry depends on;
- :func:`write_entry` stores arrays with a sha256 over them, atomically;
- :func:`read_entry` checks that sha256 and deletes an entry that fails it, so a corrupt or
  truncated file is recomputed, never read;
- :func:`cached` ties the three together for a value with an encoding (:data:`JSON`,
  :data:`ARRAY`, :data:`FRAME`, :data:`ARRAYS`);
- :func:`cached_file` does the same for a file that other processes read by path.
"""

from __future__ import annotations

import hashlib
import io
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import pandas as pd
from tqdm import tqdm

from ..._io import atomic_path, cache_dir

#: Hex digits of a cache key: 96 bits, no collision among any number of entries a study makes.
KEY_DIGITS = 24
_SUM = "sha256"  # the member of an entry that holds its checksum


def key(*parts: Any) -> str:
    """A cache key over ``parts``: arrays by dtype, shape and bytes, anything else as JSON.

    Parameters
    ----------
    *parts
        What the entry depends on: numpy arrays, bytes, strings, numbers, or JSON-able
        containers (dict keys are sorted; other objects are written with ``str``).

    Returns
    -------
    str
        :data:`KEY_DIGITS` hex digits.
    """
    h = hashlib.sha256()
    for p in parts:
        if isinstance(p, np.ndarray):
            a = np.ascontiguousarray(p)
            h.update(f"{a.dtype.str}|{a.shape}|".encode() + a.tobytes())
        elif isinstance(p, bytes):
            h.update(p)
        else:
            h.update(json.dumps(p, sort_keys=True, default=str).encode())
        h.update(b"\1")
    return h.hexdigest()[:KEY_DIGITS]


def checksum(arrays: dict[str, np.ndarray]) -> str:
    """sha256 over named arrays: names, dtypes, shapes and bytes.

    Parameters
    ----------
    arrays
        Name -> array.

    Returns
    -------
    str
        64 hex digits.
    """
    h = hashlib.sha256()
    for k in sorted(arrays):
        a = np.ascontiguousarray(arrays[k])
        h.update(f"{k}|{a.dtype.str}|{a.shape}".encode() + a.tobytes())
    return h.hexdigest()


def write_entry(path: Path, arrays: dict[str, np.ndarray]) -> None:
    """Write ``arrays`` and their :func:`checksum` to the ``.npz`` at ``path``, atomically.

    Parameters
    ----------
    path
        The entry's file.
    arrays
        Name -> array (no object arrays).
    """
    arrays = {k: np.asarray(v) for k, v in arrays.items()}
    with atomic_path(path) as tmp, open(tmp, "wb") as fh:
        np.savez(fh, **arrays, **{_SUM: np.array(checksum(arrays))})


def read_entry(path: Path) -> dict[str, np.ndarray] | None:
    """The arrays of a valid entry; None when absent, and None (the file deleted) when corrupt.

    Parameters
    ----------
    path
        The entry's file.

    Returns
    -------
    dict or None
        Name -> array, when the file reads and its checksum matches.
    """
    if not path.exists():
        return None
    try:
        with np.load(path, allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files if k != _SUM}
            stored = str(z[_SUM])
    except Exception as exc:  # truncated zip, not a zip, no checksum member ...
        return _discard(path, type(exc).__name__)
    return arrays if stored == checksum(arrays) else _discard(path, "checksum mismatch")


def _discard(path: Path, why: str) -> None:
    tqdm.write(f"cellvae: cache entry {path.parent.name}/{path.name} is corrupt ({why}); recomputing")
    path.unlink(missing_ok=True)


class Codec(NamedTuple):
    """How a value is stored as arrays, and read back."""

    encode: Callable[[Any], dict[str, np.ndarray]]
    decode: Callable[[dict[str, np.ndarray]], Any]


#: A JSON-able value (a dict of scores, a list of rows).
JSON = Codec(lambda v: {"json": np.array(json.dumps(v))}, lambda a: json.loads(str(a["json"])))
#: One numpy array.
ARRAY = Codec(lambda v: {"array": np.asarray(v)}, lambda a: a["array"])
#: A dict of numpy arrays (and scalars).
ARRAYS = Codec(lambda v: dict(v), lambda a: a)
#: A pandas DataFrame, as pandas' JSON "split" form (floats to 10 significant digits).
FRAME = Codec(lambda df: {"json": np.array(df.to_json(orient="split"))},
              lambda a: pd.read_json(io.StringIO(str(a["json"])), orient="split"))


def cached(kind: str, entry: str, compute: Callable[[], Any], *, codec: Codec,
           valid: Callable[[Any], bool] = lambda v: True) -> Any:
    """The value stored under ``<cache>/<kind>/<entry>.npz``, computed and stored if absent.

    The value returned is always the stored one, read back, so a first call and a cached
    call give the same result to the bit.

    Parameters
    ----------
    kind
        The cache's folder under :func:`cellvae._io.cache_dir`.
    entry
        The entry's :func:`key`.
    compute
        Makes the value when the entry is absent, corrupt or not ``valid``.
    codec
        How the value is stored.
    valid
        Whether a stored value still fits its use (e.g. its shape); an invalid one is
        recomputed.

    Returns
    -------
    object
        The value.
    """
    path = cache_dir() / kind / f"{entry}.npz"
    arrays = read_entry(path)
    if arrays is not None:
        try:
            value = codec.decode(arrays)
            if valid(value):
                return value
        except (KeyError, ValueError):
            pass
        path.unlink(missing_ok=True)  # stale: recompute
    arrays = codec.encode(compute())
    write_entry(path, arrays)
    return codec.decode({k: np.asarray(v) for k, v in arrays.items()})


def _file_sum(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def cached_file(path: Path, write: Callable[[Path], None]) -> Path:
    """A file that other processes read by path, written once and checked on every reuse.

    A ``<name>.sha256`` beside the file holds its checksum; a file whose checksum is
    missing or does not match is written again.

    Parameters
    ----------
    path
        Where the file lives (its name should carry a content :func:`key`).
    write
        Writes the file's content to the path it is given.

    Returns
    -------
    pathlib.Path
        ``path``.
    """
    stamp = path.with_name(path.name + ".sha256")
    if path.exists() and stamp.exists() and stamp.read_text() == _file_sum(path):
        return path
    with atomic_path(path) as tmp:
        write(tmp)
    with atomic_path(stamp) as tmp:
        tmp.write_text(_file_sum(path))
    return path
