"""Checkpoints: what a saved model holds, and corrupt or truncated files refused."""

from __future__ import annotations

import pytest

from cellvae.model import CellVAE
from cellvae.model.checkpoint import CheckpointError, load_checkpoint

QUICK = dict(max_epochs=2, progress=False)


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
