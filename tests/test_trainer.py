"""Training: overfitting, determinism, the NaN guard, sparse input, every likelihood."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
import torch

from cellvae.data import get_variant
from cellvae.model.config import TrainConfig, VAEConfig
from cellvae.model.evaluate import active_units, evaluate, iwae, latent_mean
from cellvae.model.module import VAE
from cellvae.model.trainer import TrainingDiverged, kl_weight, seed_everything, train

FAST = dict(progress=False, batch_size=128)


def _counts(n=64, g=30, seed=0):
    rng = np.random.default_rng(seed)
    return sp.csr_matrix(rng.negative_binomial(2, 0.4, (n, g)).astype(np.float32))


def test_tiny_dataset_overfits():
    """With beta = 0 (an autoencoder) 32 cells are memorised far below the initial loss."""
    x = _counts(n=32)
    m = VAE(VAEConfig(n_input=30, n_latent=8, n_hidden=128, dropout=0.0, beta=0.0, norm="none"))
    before = evaluate(m, x)["recon_mean"]
    res = train(m, x, config=TrainConfig(max_epochs=500, lr=3e-3, validation_fraction=0, patience=0,
                                         kl_warmup_epochs=0, progress=False, batch_size=32))
    after = evaluate(m, x)["recon_mean"]
    assert after < 0.7 * before
    assert res.history[-1]["train_loss"] < res.history[0]["train_loss"]


def test_same_seed_same_numbers(sim):
    x = get_variant(sim, "raw")

    def run(seed):
        seed_everything(seed)  # weights are initialised from the global torch RNG
        m = VAE(VAEConfig(n_input=x.shape[1], n_latent=4, n_hidden=32))
        train(m, x, config=TrainConfig(max_epochs=3, seed=seed, **FAST))
        return evaluate(m, x)["elbo"]

    a, b, c = run(0), run(0), run(1)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


def test_nan_guard_names_cause_and_remedy():
    x = _counts() * 1e4  # raw-count-like magnitudes
    torch.manual_seed(0)
    m = VAE(VAEConfig(n_input=30, likelihood="gaussian", input_transform="none", norm="none"))
    with pytest.raises(TrainingDiverged, match=r"gaussian likelihood diverged .* at epoch \d+.*likelihood='nb'"):
        train(m, x, config=TrainConfig(max_epochs=20, lr=1e6, grad_clip=0, **FAST))


def test_sparse_and_dense_give_same_loss(sim):
    x = get_variant(sim, "raw")
    m = VAE(VAEConfig(n_input=x.shape[1], n_latent=4, n_hidden=16))
    a = evaluate(m, x, seed=3)["elbo"]
    b = evaluate(m, x.toarray(), seed=3)["elbo"]
    np.testing.assert_allclose(a, b, rtol=1e-6)


@pytest.mark.parametrize("lik, variant", [("nb", "raw"), ("zinb", "raw"), ("gaussian", "processed"),
                                          ("gaussian_fixed", "processed")])
def test_each_likelihood_trains(sim, lik, variant):
    x = get_variant(sim, variant)
    tf = "log1p" if variant == "raw" else "none"
    m = VAE(VAEConfig(n_input=x.shape[1], n_latent=5, n_hidden=32, likelihood=lik, input_transform=tf))
    before = evaluate(m, x)["elbo_mean"]
    res = train(m, x, config=TrainConfig(max_epochs=5, kl_warmup_epochs=2, **FAST))
    assert len(res.history) == 5 and res.best_epoch >= 2
    assert evaluate(m, x)["elbo_mean"] > before


def test_warmup_ends_at_full_beta():
    cfg = TrainConfig(max_epochs=5, kl_warmup_epochs=50)
    assert kl_weight(0, cfg, 1.0) == 0.0
    assert kl_weight(4, cfg, 1.0) == 1.0


def test_early_stopping_restores_best(sim):
    x = get_variant(sim, "raw")
    m = VAE(VAEConfig(n_input=x.shape[1], n_latent=4, n_hidden=16))
    res = train(m, x, config=TrainConfig(max_epochs=40, patience=2, lr=5e-2, kl_warmup_epochs=0, **FAST))
    best = min(h["val_loss"] for h in res.history)
    assert res.history[res.best_epoch]["val_loss"] == best
    if res.stopped == "early_stopping":
        assert len(res.history) == res.best_epoch + 3


@pytest.mark.parametrize("min_rel_gain, epochs", [(0.0, 12), (1e-3, 4)])
def test_small_gains_count_as_none_under_min_rel_gain(monkeypatch, min_rel_gain, epochs):
    """A validation loss creeping down by 0.01% per epoch: any gain keeps going, a 0.1% floor stops."""
    import cellvae.model.trainer as tr

    losses = iter(100.0 * (1 - 1e-4) ** k for k in range(100))

    def scripted(*args):  # training passes get an optimiser as a 9th argument, validation passes do not
        v = 1.0 if len(args) == 9 else next(losses)
        return {"loss": v, "elbo": -v}

    monkeypatch.setattr(tr, "_run_epoch", scripted)
    x = _counts()
    m = VAE(VAEConfig(n_input=30, n_latent=2, n_hidden=8))
    res = train(m, x, config=TrainConfig(max_epochs=12, patience=3, kl_warmup_epochs=0,
                                         min_rel_gain=min_rel_gain, **FAST))
    assert len(res.history) == epochs and res.best_epoch == epochs - 1  # the best weights follow every gain
    assert res.stopped == ("max_epochs" if min_rel_gain == 0 else "early_stopping")


def test_keyboard_interrupt_keeps_best(sim, monkeypatch):
    import cellvae.model.trainer as tr

    x = get_variant(sim, "raw")
    m = VAE(VAEConfig(n_input=x.shape[1], n_latent=4, n_hidden=16))
    real, calls = tr._run_epoch, {"n": 0}

    def flaky(*a, **k):
        calls["n"] += 1
        if calls["n"] == 7:  # during the 4th epoch's training pass
            raise KeyboardInterrupt
        return real(*a, **k)

    monkeypatch.setattr(tr, "_run_epoch", flaky)
    with pytest.warns(UserWarning, match="interrupted after 3 epoch.*keeping the best state"):
        res = train(m, x, config=TrainConfig(max_epochs=10, kl_warmup_epochs=0, **FAST))
    assert res.stopped == "interrupted" and 0 <= res.best_epoch <= 2


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


def test_resume_refuses_another_run_and_survives_a_corrupt_snapshot(sim, tmp_path, monkeypatch):
    from cellvae.model import ResumeMismatch

    x = get_variant(sim, "raw")
    cfg = TrainConfig(max_epochs=4, kl_warmup_epochs=0, **FAST)
    snap = tmp_path / "s.pt"
    _interrupt_at(monkeypatch, 3)
    with pytest.warns(UserWarning):
        train(VAE(VAEConfig(n_input=x.shape[1], n_latent=4, n_hidden=16)), x, config=cfg, checkpoint=snap)
    monkeypatch.undo()
    with pytest.raises(ResumeMismatch, match="another model, config or data"):
        train(VAE(VAEConfig(n_input=x.shape[1], n_latent=5, n_hidden=16)), x, config=cfg, checkpoint=snap)
    snap.write_bytes(b"not a snapshot")
    with pytest.warns(UserWarning, match="corrupt"):
        res = train(VAE(VAEConfig(n_input=x.shape[1], n_latent=4, n_hidden=16)), x, config=cfg,
                    checkpoint=snap)
    assert len(res.history) == 4 and not snap.exists()


@pytest.mark.slow
def test_posterior_collapse_is_detected(sim):
    """A huge beta collapses q(z|x) onto the prior; a healthy NB model keeps its units."""
    x = get_variant(sim, "raw")

    def fit(beta):
        m = VAE(VAEConfig(n_input=x.shape[1], n_latent=8, n_hidden=64, beta=beta))
        train(m, x, config=TrainConfig(max_epochs=30, kl_warmup_epochs=5, lr=3e-3, **FAST))
        return active_units(latent_mean(m, x))[0], evaluate(m, x)["kl_mean"]

    au_collapsed, kl_collapsed = fit(200.0)
    au_healthy, kl_healthy = fit(1.0)
    assert au_collapsed <= 1 and kl_collapsed < 0.5
    assert au_healthy >= 4 and kl_healthy > 1.0


def test_iwae_tighter_than_elbo(sim):
    x = get_variant(sim, "raw")
    m = VAE(VAEConfig(n_input=x.shape[1], n_latent=4, n_hidden=16))
    train(m, x, config=TrainConfig(max_epochs=3, **FAST))
    assert iwae(m, x, k=50).mean() > evaluate(m, x)["elbo_mean"]
    with pytest.raises(ValueError, match="k must be"):
        iwae(m, x, k=0)


def test_split_seed_fixes_the_validation_cells_across_seeds():
    from cellvae.model import validation_seed

    assert validation_seed(TrainConfig(seed=3)) == 3
    assert validation_seed(TrainConfig(seed=3, split_seed=0)) == 0


def test_on_device_leaves_host_data_alone_and_rows_slice_alike_from_a_tensor():
    from cellvae.model.batches import as_tensor_rows, on_device

    x = sp.random(20, 5, density=0.3, format="csr", dtype=np.float32, random_state=0)
    assert on_device(x, torch.device("cpu")) is x  # a CPU fit slices the CSR matrix per minibatch
    rows = np.array([1, 3, 7])
    torch.testing.assert_close(as_tensor_rows(torch.from_numpy(x.toarray()), rows, "cpu"),
                               as_tensor_rows(x, rows, "cpu"), rtol=0, atol=0)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device (benchmarks/on_gpu.sh runs it)")
@pytest.mark.parametrize("dense", [False, True])
def test_on_device_copies_the_matrix_to_the_gpu_block_by_block(dense):
    from cellvae.model.batches import on_device

    x = _counts(n=50)
    got = on_device(x.toarray() if dense else x, torch.device("cuda"), block=7)  # 8 blocks, the last of 1 row
    assert got.is_cuda and got.dtype == torch.float32
    np.testing.assert_array_equal(got.cpu().numpy(), x.toarray())


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device (benchmarks/on_gpu.sh runs it)")
def test_cuda_fit_is_deterministic_and_restores_the_global_flag(sim):
    x = get_variant(sim, "raw")
    cfg = TrainConfig(max_epochs=3, kl_warmup_epochs=1, patience=0, batch_size=128, device="cuda", progress=False)

    def fit():
        seed_everything(0)
        m = VAE(VAEConfig(n_input=x.shape[1], n_latent=4, n_hidden=16))
        return [h["val_elbo"] for h in train(m, x, config=cfg).history]

    before = torch.are_deterministic_algorithms_enabled()
    assert fit() == fit()
    assert torch.are_deterministic_algorithms_enabled() == before


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
