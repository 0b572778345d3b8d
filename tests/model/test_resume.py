"""Resuming an interrupted fit from its snapshot: the same numbers, and other runs' snapshots refused."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from cellvae.data import get_variant
from cellvae.model.config import TrainConfig, VAEConfig
from cellvae.model.module import VAE
from cellvae.model.trainer import seed_everything, train

FAST = dict(progress=False, batch_size=128)


def _interrupt_at(monkeypatch, call: int):
    import cellvae.model.trainer as tr

    real, calls = tr._run_epoch, {"n": 0}

    def flaky(*a, **k):
        calls["n"] += 1
        if calls["n"] == call:
            raise KeyboardInterrupt
        return real(*a, **k)

    monkeypatch.setattr(tr, "_run_epoch", flaky)


@pytest.mark.parametrize("every", [1, 2])
def test_resume_equals_uninterrupted(sim, tmp_path, monkeypatch, every):
    """Interrupt in epoch 4 of 7, resume from the snapshot: weights and history match exactly."""
    x = get_variant(sim, "raw")
    cfg = TrainConfig(max_epochs=7, kl_warmup_epochs=2, patience=0, checkpoint_every=every, **FAST)
    vcfg = VAEConfig(n_input=x.shape[1], n_latent=4, n_hidden=16)

    def fresh():
        seed_everything(123)  # the initial weights differ from the snapshot's, on purpose
        return VAE(vcfg)

    seed_everything(0)
    ref = VAE(vcfg)
    init = {k: v.clone() for k, v in ref.state_dict().items()}
    want = train(ref, x, config=cfg)
    snap = tmp_path / "run.resume.pt"
    m = fresh()
    m.load_state_dict(init)
    _interrupt_at(monkeypatch, 7)  # 2 passes per epoch: the 4th epoch's training pass
    with pytest.warns(UserWarning, match="interrupted after 3 epoch"):
        assert train(m, x, config=cfg, checkpoint=snap).stopped == "interrupted"
    assert snap.exists()
    monkeypatch.undo()
    resumed = fresh()
    got = train(resumed, x, config=cfg, checkpoint=snap)
    assert got.stopped == "max_epochs" and not snap.exists()  # finished: snapshot removed
    assert [h["epoch"] for h in got.history] == list(range(7)) and got.best_epoch == want.best_epoch
    np.testing.assert_array_equal([h["val_elbo"] for h in got.history],
                                  [h["val_elbo"] for h in want.history])
    for k, v in ref.state_dict().items():
        torch.testing.assert_close(resumed.state_dict()[k], v, rtol=0, atol=0)


def _snapshot_at_epoch_3(sim, tmp_path, monkeypatch):
    """A 4-epoch fit interrupted after epoch 3: its data, config and resume snapshot."""
    x = get_variant(sim, "raw")
    cfg = TrainConfig(max_epochs=4, kl_warmup_epochs=0, **FAST)
    snap = tmp_path / "s.pt"
    _interrupt_at(monkeypatch, 3)
    with pytest.warns(UserWarning):
        train(VAE(VAEConfig(n_input=x.shape[1], n_latent=4, n_hidden=16)), x, config=cfg, checkpoint=snap)
    monkeypatch.undo()
    return x, cfg, snap


def test_resume_refuses_another_run_and_survives_a_corrupt_snapshot(sim, tmp_path, monkeypatch):
    from cellvae.model import ResumeMismatch

    x, cfg, snap = _snapshot_at_epoch_3(sim, tmp_path, monkeypatch)
    with pytest.raises(ResumeMismatch, match="another model, config or data"):
        train(VAE(VAEConfig(n_input=x.shape[1], n_latent=5, n_hidden=16)), x, config=cfg, checkpoint=snap)
    snap.write_bytes(b"not a snapshot")
    with pytest.warns(UserWarning, match="corrupt"):
        res = train(VAE(VAEConfig(n_input=x.shape[1], n_latent=4, n_hidden=16)), x, config=cfg,
                    checkpoint=snap)
    assert len(res.history) == 4 and not snap.exists()


def test_snapshot_records_precision_and_an_old_snapshot_resumes_at_float32(sim, tmp_path, monkeypatch):
    from cellvae.model import ResumeMismatch

    x, cfg, snap = _snapshot_at_epoch_3(sim, tmp_path, monkeypatch)
    payload = torch.load(snap, weights_only=True)
    assert payload["precision"] == "32"
    with pytest.raises(ResumeMismatch, match="precision '32', not 'bf16-mixed'"):
        train(VAE(VAEConfig(n_input=x.shape[1], n_latent=4, n_hidden=16)), x, checkpoint=snap,
              config=TrainConfig(max_epochs=4, kl_warmup_epochs=0, precision="bf16-mixed", **FAST))
    del payload["precision"]  # a snapshot written before the field existed
    torch.save(payload, snap)
    res = train(VAE(VAEConfig(n_input=x.shape[1], n_latent=4, n_hidden=16)), x, config=cfg, checkpoint=snap)
    assert [h["epoch"] for h in res.history] == [0, 1, 2, 3] and not snap.exists()
