"""Every bad input to `cellvae fit`, `cellvae simulate` and the book's loader: one line, non-zero, nothing written."""

from __future__ import annotations

import anndata as ad
import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from cellvae.cli import main
from cellvae.data import DataError, resolve_design, validate


def _good(n=400, genes=30, seed=0) -> ad.AnnData:
    rng = np.random.default_rng(seed)
    x = rng.poisson(2.0, size=(n, genes)).astype(np.float32)
    obs = pd.DataFrame({"batch": np.where(np.arange(n) % 2 == 0, "b1", "b2"),
                        "cell_type": np.where(np.arange(n) % 3 == 0, "T", "B")},
                       index=[f"c{i}" for i in range(n)])
    return ad.AnnData(X=sp.csr_matrix(x), obs=obs, layers={"counts": sp.csr_matrix(x)},
                      var=pd.DataFrame(index=[f"g{i}" for i in range(genes)]))


def _with(fn):
    def make():
        a = _good()
        return fn(a) or a
    return make


def _set_counts(a, x):
    a.layers["counts"] = sp.csr_matrix(x)


def _nan_batch(a):
    a.obs["batch"] = a.obs["batch"].astype(object)
    a.obs.iloc[:3, a.obs.columns.get_loc("batch")] = np.nan


def _empty_batch(a):
    a.obs["batch"] = a.obs["batch"].astype(object)
    a.obs.iloc[:2, a.obs.columns.get_loc("batch")] = " "


def _lone_batch(a):
    a.obs["batch"] = a.obs["batch"].astype(object)
    a.obs.iloc[0, a.obs.columns.get_loc("batch")] = "b3"


def _zero_cells(a):
    x = a.layers["counts"].toarray()
    x[:4] = 0
    _set_counts(a, x)


def _one_value(a, v):
    x = a.layers["counts"].toarray()
    x[0, 0] = v
    _set_counts(a, x)


CASES = {  # name: (data, extra args, the exact message after "cellvae: error: ")
    "nan batch": (_with(_nan_batch), ["--batch-key", "batch"],
                  "obs['batch'] has no value (NaN or empty) for 3 cells of 400; fill them or drop those cells"),
    "empty batch": (_with(_empty_batch), ["--batch-key", "batch"],
                    "obs['batch'] has no value (NaN or empty) for 2 cells of 400; fill them or drop those cells"),
    "batch of one cell": (_with(_lone_batch), ["--batch-key", "batch"],
                          "obs['batch'] has 1 batch of fewer than 2 cells ('b3'); a batch-conditional model needs "
                          "at least 2 per batch"),
    "missing batch key": (_good, ["--batch-key", "nope"], "batch_key 'nope' is not an obs column"),
    "one cell": (lambda: _good()[:1].copy(), [],
                 "1 cell, fewer than the 256 a fit needs (one minibatch of 256, and at least 2); lower --batch-size "
                 "to fit fewer cells"),
    "fewer cells than a minibatch": (_good, ["--batch-size", "512"],
                                     "400 cells, fewer than the 512 a fit needs (one minibatch of 512, and at least "
                                     "2); lower --batch-size to fit fewer cells"),
    "one cell, minibatch of one": (lambda: _good()[:1].copy(), ["--batch-size", "1"],
                                   "1 cell, fewer than the 2 a fit needs (one minibatch of 1, and at least 2); lower "
                                   "--batch-size to fit fewer cells"),
    "no counts": (_with(lambda a: _set_counts(a, np.zeros(a.shape))), [],
                  "the count matrix holds no counts: every entry is 0"),
    "cells with no counts": (_with(_zero_cells), [],
                             "4 cells of 400 have no counts; drop them first (scanpy.pp.filter_cells(adata, "
                             "min_counts=1))"),
    "no genes": (lambda: _good()[:, []].copy(), [], "the data holds 400 cells and 0 genes; a fit needs both"),
    "no cells": (lambda: _good()[[]].copy(), [], "the data holds 0 cells and 30 genes; a fit needs both"),
    "nan count": (_with(lambda a: _one_value(a, np.nan)), [],
                  "counts contain NaN or inf; raw counts must be finite integers"),
    "inf count": (_with(lambda a: _one_value(a, np.inf)), [],
                  "counts contain NaN or inf; raw counts must be finite integers"),
    "negative count": (_with(lambda a: _one_value(a, -1)), [],
                       "counts contain negative values; raw counts must be >= 0"),
    "fractional count": (_with(lambda a: _one_value(a, 0.5)), [],
                         "counts are not integers; pass raw UMI counts, not normalised values"),
    "missing layer": (_good, ["--layer", "raw"], "no layers['raw']; found layers ['counts']"),
    "no latent": (_good, ["--latent", "0"], "VAEConfig: n_latent must be >= 1"),
    "no hidden units": (_good, ["--hidden", "0"], "VAEConfig: n_hidden must be >= 1"),
    "negative beta": (_good, ["--beta", "-1"], "VAEConfig: beta must be >= 0"),
    "zero batch size": (_good, ["--batch-size", "0"], "TrainConfig: batch_size must be >= 2"),
    "zero epochs": (_good, ["--epochs", "0"], "TrainConfig: max_epochs must be >= 1"),
    "negative learning rate": (_good, ["--lr", "-0.1"], "TrainConfig: lr must be > 0"),
}


def _run(tmp_path, capsys, data, args):
    src, out = tmp_path / "in.h5ad", tmp_path / "out.h5ad"
    data.write_h5ad(src)
    before = sorted(p.name for p in tmp_path.iterdir())
    rc = main(["fit", str(src), "-o", str(out), "--latent", "3", "--hidden", "8", "--epochs", "1", "--quiet", *args])
    err = capsys.readouterr().err
    return rc, err, before, sorted(p.name for p in tmp_path.iterdir())


@pytest.mark.parametrize("name", list(CASES))
def test_a_bad_fit_input_is_one_line_exits_2_and_writes_nothing(tmp_path, capsys, name):
    make, args, msg = CASES[name]
    if name == "no latent":  # the options under test replace the defaults _run passes
        args = ["--latent", "0"]
    rc, err, before, after = _run(tmp_path, capsys, make(), args)
    assert rc == 2
    assert err == f"cellvae: error: {msg}\n"
    assert after == before  # no output, no model, no resume snapshot


@pytest.mark.parametrize("args, msg", [
    (["fit", "{d}/missing.h5ad", "-o", "{d}/o.h5ad"], "data file not found: {d}/missing.h5ad"),
    (["fit", "{d}/dir.h5ad", "-o", "{d}/o.h5ad"], "data path is not a file: {d}/dir.h5ad"),
    (["fit", "{d}/text.h5ad", "-o", "{d}/o.h5ad"], "{d}/text.h5ad is not an h5ad file (no HDF5 signature)"),
    (["fit", "{d}/in.h5ad", "-o", "{d}/in.h5ad"], "output must differ from input; the input file is never overwritten"),
    (["fit", "{d}/in.h5ad", "-o", "{d}/o.csv"], "output must end in .h5ad, got o.csv"),
    (["simulate", "-o", "{d}/s.csv"], "output must end in .h5ad, got s.csv"),
    (["simulate", "-o", "{d}/s.h5ad", "--cells", "0"], "need at least 12 cells and 50 genes, got 0 x 5000"),
    (["simulate", "-o", "{d}/s.h5ad", "--genes", "0"], "need at least 12 cells and 50 genes, got 90260 x 0"),
])
def test_bad_paths_and_simulator_options_are_one_line_and_write_nothing(tmp_path, capsys, args, msg):
    _good().write_h5ad(tmp_path / "in.h5ad")
    (tmp_path / "text.h5ad").write_text("hello")
    (tmp_path / "dir.h5ad").mkdir()
    before = sorted(p.name for p in tmp_path.iterdir())
    rc = main([a.format(d=tmp_path) for a in args])
    assert rc == 2
    assert capsys.readouterr().err == f"cellvae: error: {msg.format(d=tmp_path)}\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == before


@pytest.mark.parametrize("column, setting", [("batch", {}), ("cell_type", {}),
                                             ("sample", {"CELLVAE_BATCH_KEY": "sample"})])
def test_the_books_loader_names_a_column_with_missing_values(column, setting):
    a = _good()
    a.obs["sample"] = a.obs["batch"]
    a.obs[column] = a.obs[column].astype(object)
    a.obs.iloc[5:7, a.obs.columns.get_loc(column)] = np.nan
    with pytest.raises(DataError) as e:
        resolve_design(a, settings=setting)
    assert str(e.value) == (f"obs['{column}'] has no value (NaN or empty) for 2 cells of 400; fill them or drop "
                            "those cells")
    with pytest.raises(DataError, match=r"obs\['" + column + r"'\] has no value") if column != "sample" else \
            pytest.raises(DataError, match="NaN or empty"):
        b = _good()
        b.obs[column if column != "sample" else "batch"] = np.nan
        validate(b)
