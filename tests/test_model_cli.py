"""The AnnData-facing model, checkpoints and the command line."""

from __future__ import annotations

import numpy as np
import pytest

from cellvae.cli import main
from cellvae.data import DataError
from cellvae.model import CellVAE
from cellvae.model.checkpoint import CheckpointError, load_checkpoint

QUICK = dict(max_epochs=2, progress=False)


def test_model_roundtrip(sim, tmp_path):
    m = CellVAE(sim, layer="counts", likelihood="nb", batch_key="batch", n_latent=4, n_hidden=16)
    m.train(sim, **QUICK)
    m.module.cpu()  # load() restores onto the CPU; on a GPU machine, training left the model on the GPU
    z = m.get_latent(sim)
    assert z.shape == (sim.n_obs, 4)
    path = m.save(tmp_path / "m.pt")
    m2 = CellVAE.load(path, sim)
    np.testing.assert_array_equal(m2.get_latent(sim), z)
    assert m2.batch_categories == m.batch_categories and len(m2.result.history) == 2
    ev = m2.evaluate(sim, iwae_k=5)
    assert ev["iwae_mean"] > ev["elbo_mean"] - 5 and ev["active_units"] <= 4


def test_latent_into_obsm(sim):
    m = CellVAE(sim, layer="counts", n_latent=3, n_hidden=8)
    m.train(sim, **QUICK)
    z = m.get_latent(sim, key="X_cellvae")
    np.testing.assert_array_equal(sim.obsm["X_cellvae"], z)


def test_trains_on_real_starter_counts(starter_path):
    """The real 600-cell GSE194122 subset: NB and batch-conditional NB train and stay healthy."""
    from cellvae.data import load_bmmc

    a = load_bmmc(starter_path, n_top_genes=500, seed=0)
    m = CellVAE(a, layer="counts", likelihood="nb", batch_key="batch", n_latent=5, n_hidden=32)
    res = m.train(a, max_epochs=8, progress=False, batch_size=128)
    ev = m.evaluate(a, iwae_k=5)
    assert np.isfinite(ev["elbo_mean"]) and ev["elbo_mean"] > res.history[0]["val_elbo"] - 1e-6
    assert ev["active_units"] >= 1
    assert m.batch_categories == ["s1d1", "s1d2"]


def test_checkpoint_payload(sim, tmp_path):
    m = CellVAE(sim, layer="counts", n_latent=3, n_hidden=8)
    m.train(sim, **QUICK)
    _, payload = load_checkpoint(m.save(tmp_path / "m.pt"))
    assert payload["fingerprint"] == sim.uns["cellvae"]["fingerprint"]
    assert payload["config"]["n_latent"] == 3 and len(payload["history"]) == 2


def test_corrupt_checkpoint(tmp_path):
    p = tmp_path / "bad.pt"
    p.write_bytes(b"not a checkpoint at all")
    with pytest.raises(CheckpointError, match="corrupt or not a torch checkpoint"):
        CellVAE.load(p)
    with pytest.raises(CheckpointError, match="checkpoint not found"):
        CellVAE.load(tmp_path / "missing.pt")


def test_truncated_checkpoint(sim, tmp_path):
    m = CellVAE(sim, layer="counts", n_latent=3, n_hidden=8)
    p = m.save(tmp_path / "m.pt")
    p.write_bytes(p.read_bytes()[:200])
    with pytest.raises(CheckpointError, match="corrupt"):
        load_checkpoint(p)


def test_model_input_errors(sim):
    with pytest.raises(DataError, match=r"no layers\['nope'\]"):
        CellVAE(sim, layer="nope")
    with pytest.raises(DataError, match="batch_key 'donor' is not an obs column"):
        CellVAE(sim, layer="counts", batch_key="donor")
    m = CellVAE(sim, layer="counts", n_latent=2, n_hidden=8)
    with pytest.raises(DataError, match="genes differ"):
        m.get_latent(sim[:, :50])
    with pytest.raises(DataError, match="no AnnData bound"):
        m.get_latent()
    norm = sim.copy()
    norm.layers["lognorm"] = norm.layers["counts"].log1p()
    with pytest.raises(DataError, match="not integers"):
        CellVAE(norm, layer="lognorm", likelihood="nb")


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
    sim_raw[:50].write_h5ad(tmp_path / "in.h5ad")
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
