"""The shipped real starter: right shape, verified by sha256, licence and source beside it."""

from __future__ import annotations

import shutil
import subprocess
import sys

import numpy as np
import pytest

from cellvae import data, datasets
from cellvae.data import DataError


def test_bmmc_starter_is_the_real_600_cells():
    gex = datasets.bmmc_starter()
    assert gex.shape == (600, 1000)
    assert set(gex.obs["batch"].astype(str)) == {"s1d1", "s1d2"}
    counts = gex.layers["counts"]
    vals = counts.data if hasattr(counts, "data") else np.asarray(counts)
    assert np.all(vals == np.round(vals)) and vals.min() >= 0
    adt = datasets.bmmc_starter(modality="adt")
    assert adt.shape == (600, 134) and list(adt.obs_names) == list(gex.obs_names)


def test_the_starter_goes_through_the_loader():
    a = data.load_bmmc(datasets.starter_path(), n_top_genes=500)
    assert a.n_vars == 500 and {"Site", "DonorNumber"} <= set(a.obs)


def test_licence_and_source_ship_with_the_files():
    folder = datasets.starter_path().parent
    assert "MIT License" in (folder / "LICENSE").read_text()
    readme = (folder / "README.md").read_text()
    assert "GSE194122" in readme
    for name, sha in datasets.STARTER_FILES.values():
        assert name in readme and sha in readme


def test_a_damaged_copy_is_refused_in_one_line(tmp_path, monkeypatch):
    for name, _ in datasets.STARTER_FILES.values():
        shutil.copy(datasets._DATA / name, tmp_path / name)
    monkeypatch.setattr(datasets, "_DATA", tmp_path)
    datasets.starter_path("gex")  # an intact copy passes
    damaged = tmp_path / datasets.STARTER_FILES["gex"][0]
    raw = bytearray(damaged.read_bytes())
    raw[len(raw) // 2] ^= 0xFF
    damaged.write_bytes(bytes(raw))
    with pytest.raises(DataError, match="fails its sha256 check") as err:
        datasets.bmmc_starter()
    assert "\n" not in str(err.value)
    damaged.unlink()
    with pytest.raises(DataError, match="missing; reinstall"):
        datasets.bmmc_starter()
    with pytest.raises(ValueError, match="modality must be one of"):
        datasets.bmmc_starter(modality="rna")


def test_readme_one_liner_prints_600_cells():
    code = "from cellvae.datasets import bmmc_starter; print(bmmc_starter())"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert "n_obs × n_vars = 600 × 1000" in out
