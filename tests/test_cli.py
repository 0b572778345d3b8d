"""The `cellvae fit` command line: round trip, Ctrl-C, one-line errors, resume."""

from __future__ import annotations

import numpy as np
import pytest

from cellvae.cli import main
from cellvae.model import CellVAE


def test_cli_roundtrip(sim_raw, tmp_path, capsys):
    src = tmp_path / "in.h5ad"
    sim_raw.write_h5ad(src)
    before = src.read_bytes()
    out = tmp_path / "out.h5ad"
    rc = main(["fit", str(src), "-o", str(out), "--latent", "3", "--hidden", "16",
               "--epochs", "2", "--batch-key", "batch", "--quiet"])
    assert rc == 0
    import anndata as ad

    res = ad.read_h5ad(out)
    assert res.obsm["X_cellvae"].shape == (sim_raw.n_obs, 3)
    assert (tmp_path / "out.model.pt").exists()
    assert src.read_bytes() == before
    assert "active units" in capsys.readouterr().out
    import os
    import stat

    mask = os.umask(0o022)
    os.umask(mask)
    for f in (out, tmp_path / "out.model.pt"):  # the umask's permissions, not mkstemp's 0600
        assert stat.S_IMODE(f.stat().st_mode) == 0o666 & ~mask


def test_cli_ctrl_c_exits_nonzero_and_writes_nothing(sim_raw, tmp_path, capsys, monkeypatch):
    from cellvae.model import TrainResult

    src, out = tmp_path / "in.h5ad", tmp_path / "out.h5ad"
    sim_raw.write_h5ad(src)
    monkeypatch.setattr(CellVAE, "train", lambda self, *a, **k: TrainResult(history=[{}] * 2,
                                                                            stopped="interrupted"))
    rc = main(["fit", str(src), "-o", str(out), "--latent", "3", "--hidden", "16", "--quiet"])
    assert rc == 130
    assert not out.exists() and not (tmp_path / "out.model.pt").exists()
    assert "interrupted after 2 epoch(s); nothing written" in capsys.readouterr().err


@pytest.mark.parametrize(
    "args, msg",
    [(["fit", "{d}/missing.h5ad", "-o", "{d}/o.h5ad"], "data file not found"),
     (["fit", "{d}/in.h5ad", "-o", "{d}/in.h5ad"], "output must differ from input"),
     (["fit", "{d}/in.h5ad", "-o", "{d}/o.h5ad", "--latent", "0"], "n_latent must be >= 1"),
     (["fit", "{d}/in.h5ad", "-o", "{d}/o.h5ad", "--batch-key", "nope"], "batch_key 'nope'"),
     (["fit", "{d}/text.h5ad", "-o", "{d}/o.h5ad"], "not an h5ad file"),
     (["fit", "{d}/in.h5ad", "-o", "{d}/o.csv"], "output must end in .h5ad")],
)
def test_cli_errors(sim_raw, tmp_path, capsys, args, msg):
    sim_raw[:300].write_h5ad(tmp_path / "in.h5ad")
    (tmp_path / "text.h5ad").write_text("hello")
    rc = main([a.format(d=tmp_path) for a in args])
    err = capsys.readouterr().err.strip()
    assert rc == 2
    assert err.startswith("cellvae: error:") and msg in err and "\n" not in err
    assert not (tmp_path / "o.h5ad").exists()


def test_cli_resume_gives_the_uninterrupted_result(sim_raw, tmp_path, monkeypatch):
    import anndata as ad

    import cellvae.model.trainer as tr

    src = tmp_path / "in.h5ad"
    sim_raw.write_h5ad(src)
    args = ["--latent", "3", "--hidden", "16", "--epochs", "4", "--quiet"]
    assert main(["fit", str(src), "-o", str(tmp_path / "ref.h5ad"), *args]) == 0
    real, calls = tr._run_epoch, {"n": 0}

    def flaky(*a, **k):
        calls["n"] += 1
        if calls["n"] == 5:  # the 3rd epoch's training pass
            raise KeyboardInterrupt
        return real(*a, **k)

    monkeypatch.setattr(tr, "_run_epoch", flaky)
    out = tmp_path / "out.h5ad"
    with pytest.warns(UserWarning):
        assert main(["fit", str(src), "-o", str(out), *args]) == 130
    assert not out.exists() and out.with_suffix(".resume.pt").exists()
    monkeypatch.undo()
    assert main(["fit", str(src), "-o", str(out), *args, "--resume"]) == 0
    assert not out.with_suffix(".resume.pt").exists()
    np.testing.assert_array_equal(ad.read_h5ad(out).obsm["X_cellvae"],
                                  ad.read_h5ad(tmp_path / "ref.h5ad").obsm["X_cellvae"])


def test_cli_precision_defaults_to_the_train_config_and_takes_bf16_mixed(capsys):
    from cellvae.cli import _parser
    from cellvae.model import TrainConfig

    a = _parser().parse_args(["fit", "in.h5ad", "-o", "out.h5ad"])
    assert a.precision == TrainConfig().precision and a.compile_likelihood is False
    a = _parser().parse_args(["fit", "in.h5ad", "-o", "out.h5ad", "--precision", "bf16-mixed", "--compile-likelihood"])
    assert a.precision == "bf16-mixed" and a.compile_likelihood is True
    with pytest.raises(SystemExit):
        _parser().parse_args(["fit", "in.h5ad", "-o", "out.h5ad", "--precision", "16"])
