"""CUDA-graph training steps: the eager trajectory, divergence, and resuming an eager snapshot."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from cellvae.data import get_variant
from cellvae.model.config import TrainConfig, VAEConfig
from cellvae.model.module import VAE
from cellvae.model.trainer import TrainingDiverged, seed_everything, train


def _interrupt_at(monkeypatch, call: int):
    import cellvae.model.trainer as tr

    real, calls = tr._run_epoch, {"n": 0}

    def flaky(*a, **k):
        calls["n"] += 1
        if calls["n"] == call:
            raise KeyboardInterrupt
        return real(*a, **k)

    monkeypatch.setattr(tr, "_run_epoch", flaky)


@pytest.fixture
def graphs_built(monkeypatch):
    """A list that grows by one each time train() captures its CUDA graphs."""
    from cellvae.model import graphstep

    built, real = [], graphstep.GraphStep

    def spy(*a, **k):
        built.append(1)
        return real(*a, **k)

    monkeypatch.setattr(graphstep, "GraphStep", spy)
    return built


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device (benchmarks/on_gpu.sh runs it)")
def test_cuda_graph_follows_the_eager_trajectory(sim, graphs_built):
    """Replayed CUDA graphs, with a short last minibatch run eagerly, give the eager fit's numbers."""
    import warnings

    x, codes = get_variant(sim, "raw"), sim.obs["batch"].cat.codes.to_numpy()

    def fit(graph: bool):
        seed_everything(0)
        m = VAE(VAEConfig(n_input=x.shape[1], n_latent=4, n_hidden=32, n_batch=int(codes.max()) + 1))
        cfg = TrainConfig(max_epochs=4, kl_warmup_epochs=2, patience=0, batch_size=100, device="cuda",
                          progress=False, cuda_graph=graph)
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # a failed capture warns and falls back
            hist = train(m, x, batch=codes, config=cfg).history
        return hist, m.state_dict()

    (h_eager, w_eager), (h_graph, w_graph) = fit(False), fit(True)
    assert graphs_built == [1]  # the graphs ran; 1350 training cells leave a last minibatch of 50
    for key in h_eager[0]:
        np.testing.assert_allclose([h[key] for h in h_graph], [h[key] for h in h_eager], rtol=1e-5, err_msg=key)
    for key, v in w_eager.items():
        torch.testing.assert_close(w_graph[key], v, rtol=1e-4, atol=1e-5, msg=key)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device (benchmarks/on_gpu.sh runs it)")
def test_cuda_graph_divergence_names_cause_and_remedy(sim, graphs_built):
    x = get_variant(sim, "raw") * 1e4  # raw-count-like magnitudes, as in the eager NaN-guard test
    torch.manual_seed(0)
    m = VAE(VAEConfig(n_input=x.shape[1], likelihood="gaussian", input_transform="none", norm="none"))
    with pytest.raises(TrainingDiverged, match=r"gaussian likelihood diverged .* at epoch \d+.*likelihood='nb'"):
        train(m, x, config=TrainConfig(max_epochs=20, lr=1e6, grad_clip=0, batch_size=100, device="cuda",
                                       progress=False))
    assert graphs_built == [1]


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device (benchmarks/on_gpu.sh runs it)")
def test_eager_cuda_snapshot_resumes_with_graphs(sim, tmp_path, monkeypatch, graphs_built):
    """A snapshot of an eager CUDA fit (capturable=False) resumes through the graphs, same numbers."""
    x = get_variant(sim, "raw")
    base = dict(max_epochs=5, kl_warmup_epochs=2, patience=0, batch_size=100, device="cuda", progress=False)
    vcfg = VAEConfig(n_input=x.shape[1], n_latent=4, n_hidden=16)
    seed_everything(0)
    want = train(VAE(vcfg), x, config=TrainConfig(**base, cuda_graph=False))
    snap = tmp_path / "run.resume.pt"
    seed_everything(0)
    m = VAE(vcfg)
    with monkeypatch.context() as mp, pytest.warns(UserWarning, match="interrupted after 2 epoch"):
        _interrupt_at(mp, 5)  # the 3rd epoch's training pass
        train(m, x, config=TrainConfig(**base, cuda_graph=False), checkpoint=snap)
    assert snap.exists() and not graphs_built
    got = train(VAE(vcfg), x, config=TrainConfig(**base, cuda_graph=True), checkpoint=snap)
    assert graphs_built == [1] and [h["epoch"] for h in got.history] == list(range(5))
    np.testing.assert_allclose([h["val_elbo"] for h in got.history], [h["val_elbo"] for h in want.history],
                               rtol=1e-5)
