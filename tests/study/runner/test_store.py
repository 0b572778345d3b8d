"""The one cache helper: keys that see every input, checksummed entries, atomic rewrites."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from cellvae.study.runner import store


@pytest.fixture(autouse=True)
def _own_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("CELLVAE_CACHE", str(tmp_path))


def test_key_sees_every_part_and_array_bytes():
    a = np.arange(6, dtype=np.float32)
    k = store.key(a, "x", {"b": 1, "a": 2})
    assert k == store.key(a.copy(), "x", {"a": 2, "b": 1})  # dict order does not matter
    assert len(k) == store.KEY_DIGITS
    b = a.copy()
    b[5] += 1e-3
    assert store.key(b, "x", {"b": 1, "a": 2}) != k               # one float changed
    assert store.key(a.astype(np.float64), "x", {"b": 1, "a": 2}) != k  # the dtype
    assert store.key(a.reshape(2, 3), "x", {"b": 1, "a": 2}) != k  # the shape
    assert store.key("ab", "c") != store.key("a", "bc")           # parts are delimited


@pytest.mark.parametrize("damage", ["truncate", "garbage", "tamper", "no checksum"])
def test_a_damaged_entry_reads_as_absent_and_is_deleted(tmp_path, damage, capsys):
    path = tmp_path / "e.npz"
    store.write_entry(path, {"x": np.arange(3.0), "json": np.array('{"a": 1}')})
    got = store.read_entry(path)
    assert got is not None and got["x"].tolist() == [0.0, 1.0, 2.0]
    if damage == "truncate":
        path.write_bytes(path.read_bytes()[:50])
    elif damage == "garbage":
        path.write_bytes(b"\0" * 64)
    else:
        with np.load(path) as z:
            arrays = {k: z[k] for k in z.files}
        if damage == "tamper":
            arrays["x"] = arrays["x"] + 1
        else:
            del arrays["sha256"]
        with open(path, "wb") as fh:
            np.savez(fh, **arrays)
    assert store.read_entry(path) is None
    assert not path.exists() and "corrupt" in capsys.readouterr().out


@pytest.mark.parametrize(("codec", "value"), [
    (store.JSON, {"a": [1.5, 2.0], "b": "x"}),
    (store.ARRAY, np.linspace(0, 1, 7)),
    (store.ARRAYS, {"latent": np.ones((2, 3), np.float32), "epochs": 4}),
    (store.FRAME, pd.DataFrame({"m": [0.123456789012345, 0.5]}, index=["PCA", "VAE"])),
])
def test_cached_computes_once_and_returns_the_stored_value(tmp_path, codec, value):
    calls = []

    def compute():
        calls.append(1)
        return value

    first = store.cached("k", "e1", compute, codec=codec)
    second = store.cached("k", "e1", compute, codec=codec)
    assert len(calls) == 1
    if codec is store.FRAME:
        pd.testing.assert_frame_equal(first, second)
    elif codec is store.ARRAYS:
        assert all(np.array_equal(first[k], second[k]) for k in value)
    else:
        np.testing.assert_equal(first, second)


def test_cached_recomputes_a_corrupt_or_invalid_entry(tmp_path):
    calls = []

    def compute():
        calls.append(1)
        return np.arange(len(calls) + 2)

    assert store.cached("k", "e", compute, codec=store.ARRAY).tolist() == [0, 1, 2]
    (tmp_path / "k" / "e.npz").write_bytes(b"junk")
    assert store.cached("k", "e", compute, codec=store.ARRAY).tolist() == [0, 1, 2, 3]
    got = store.cached("k", "e", compute, codec=store.ARRAY, valid=lambda v: len(v) == 5)  # stale
    assert got.tolist() == [0, 1, 2, 3, 4] and len(calls) == 3


def test_cached_file_is_rewritten_when_its_content_changed(tmp_path):
    writes = []

    def write(p):
        writes.append(1)
        p.write_text("data")

    path = tmp_path / "copy.h5ad"
    store.cached_file(path, write)
    store.cached_file(path, write)
    assert len(writes) == 1
    path.write_text("damaged")
    store.cached_file(path, write)
    assert len(writes) == 2 and path.read_text() == "data"
