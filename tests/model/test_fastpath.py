"""The opt-in fast paths: bf16 mixed precision (where it runs, what it costs) and the compiled likelihood."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
from scipy import stats

import cellvae.model.fastpath as fp
from cellvae.model import CellVAE, TrainConfig
from cellvae.model.distributions import log_nb, log_zinb
from cellvae.model.module import VAE
from cellvae.model.trainer import train

QUICK = dict(max_epochs=2, batch_size=64, progress=False, patience=0)


def _counts(n=48, g=120, seed=0):
    rng = np.random.default_rng(seed)
    mu = rng.gamma(0.5, 1.0, (n, g)) * 3
    theta = rng.gamma(2.0, 1.0, g) + 0.05
    x = rng.negative_binomial(theta, theta / (theta + mu)).astype(np.float64)
    pi_logits = rng.normal(-1.0, 1.0, (n, g))
    return x, mu, theta, pi_logits


def _torch(*arrays):
    return [torch.tensor(a, dtype=torch.float32) for a in arrays]


@pytest.mark.parametrize("lik", ["nb", "zinb"])
def test_compiled_likelihood_matches_scipy_and_the_eager_gradients(lik):
    x, mu, theta, pl = _counts()
    nb = stats.nbinom.pmf(x, theta, theta / (theta + mu))
    pi = 1 / (1 + np.exp(-pl))
    ref = (np.log(nb) if lik == "nb" else np.log(np.where(x == 0, pi + (1 - pi) * nb, (1 - pi) * nb))).sum(-1)
    xt, mut, tht, plt = _torch(x, mu, theta, pl)
    mut.requires_grad_(True)
    params = {"mu": mut, "theta": tht, "pi_logits": plt}
    got = fp.compiled_log_px_rows(lik, xt, params)
    np.testing.assert_allclose(got.detach().numpy(), ref, rtol=2e-6, atol=1e-3)
    got.sum().backward()
    grad, mut.grad = mut.grad.clone(), None
    eager = log_nb(xt, mut, tht) if lik == "nb" else log_zinb(xt, mut, tht, plt)
    eager.sum().backward()
    torch.testing.assert_close(grad, mut.grad, rtol=1e-5, atol=1e-5)


def test_compiled_likelihood_falls_back_to_eager_when_compiling_fails(monkeypatch):
    def broken(fn, **kw):
        def call(*a):
            raise RuntimeError("no C++ compiler")
        return call

    monkeypatch.setattr(torch, "compile", broken)
    f = fp._Compiled(fp._nb_terms)
    x, mu, theta, _ = _torch(*_counts())
    torch.testing.assert_close(f(x, mu, theta), fp._nb_terms(x, mu, theta), rtol=0, atol=0)
    assert f.compiled is f.fn  # never tried again


def _dtypes_during_fit(sim, **train_kw):
    m = CellVAE(sim, layer="counts", likelihood="nb", batch_key="batch", n_latent=3, n_hidden=16)
    seen = []
    m.module.px_out.register_forward_hook(lambda mod, i, out: seen.append(out.dtype))
    m.train(sim, **QUICK, **train_kw)
    during, seen[:] = set(seen), []
    m.get_latent(sim)
    m.evaluate(sim, iwae_k=2)
    return during, set(seen), m


def test_bf16_mixed_runs_the_layers_in_bfloat16_only_while_fitting(sim):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "emulated" on a CPU without native bfloat16
        during, after, m = _dtypes_during_fit(sim, precision="bf16-mixed")
    assert during == {torch.bfloat16} and after == {torch.float32}  # evaluation is float32
    assert all(p.dtype == torch.float32 for p in m.module.parameters())
    assert m.module.autocast is None and m.result.precision == "bf16-mixed"
    during, _, m = _dtypes_during_fit(sim)
    assert during == {torch.float32} and m.result.precision == "32"


def test_bf16_mixed_keeps_the_loss_in_float32(sim):
    m = VAE(CellVAE(sim, layer="counts", likelihood="zinb", n_hidden=16).module.cfg)
    x = torch.from_numpy(sim.layers["counts"][:32].toarray()).float()
    m.autocast = "cpu"
    out = m(x)
    gen = m.generative(m.inference(x)["z"], x.sum(-1, keepdim=True))
    assert out.loss.dtype == out.recon.dtype == out.kl.dtype == torch.float32
    assert gen["mu"].dtype == gen["pi_logits"].dtype == torch.float32


def test_bf16_mixed_says_at_fit_time_where_it_is_slow_or_outside_the_bound(sim, monkeypatch):
    x = sim.layers["counts"]
    module = VAE(CellVAE(sim, layer="counts", n_hidden=8).module.cfg)
    monkeypatch.setattr(fp, "native_bf16", lambda device: False)
    monkeypatch.setitem(fp.BF16_OUTSIDE_BOUND, "nb", "held-out IWAE 0.9 nats/cell below float32")
    with pytest.warns(UserWarning) as rec:  # both warnings, none left to leak
        train(module, x, config=TrainConfig(precision="bf16-mixed", **QUICK))
    msgs = [str(w.message) for w in rec]
    assert any("emulated" in m for m in msgs) and any("0.9 nats/cell" in m for m in msgs), msgs
    monkeypatch.setattr(fp, "native_bf16", lambda device: True)
    monkeypatch.delitem(fp.BF16_OUTSIDE_BOUND, "nb")
    with warnings.catch_warnings(record=True) as rec:
        warnings.simplefilter("always")
        train(module, x, config=TrainConfig(precision="bf16-mixed", **QUICK))
    assert not [w for w in rec if "bf16" in str(w.message)]


def test_bf16_mixed_costs_under_half_a_nat_of_held_out_iwae_on_the_starter(starter_path):
    """The honest bound (issue 31): a small NB fit on the real starter cells, float32 against bf16-mixed."""
    from cellvae.data import load_bmmc

    a = load_bmmc(starter_path, n_top_genes=200, seed=0)
    tr, te = a[a.obs["split"] == "train"].copy(), a[a.obs["split"] == "test"].copy()
    iwae = {}
    for prec in ("32", "bf16-mixed"):
        m = CellVAE(tr, layer="counts", likelihood="nb", batch_key="batch", n_latent=8, n_hidden=64)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "emulated" on a CPU without native bfloat16
            m.train(tr, max_epochs=10, batch_size=128, progress=False, precision=prec)
        iwae[prec] = m.evaluate(te, iwae_k=10)["iwae_mean"]
    assert iwae["bf16-mixed"] > iwae["32"] - 0.5, iwae  # what precision costs: at most half a nat per cell


def test_saved_model_records_precision_and_old_files_read_as_float32(sim, tmp_path):
    m = CellVAE(sim, layer="counts", n_latent=3, n_hidden=8)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "emulated" on a CPU without native bfloat16
        m.train(sim, **QUICK, precision="bf16-mixed", device="cpu")
    path = m.save(tmp_path / "m.pt")
    assert CellVAE.load(path).result.precision == "bf16-mixed"
    payload = torch.load(path, weights_only=True)
    del payload["precision"]  # as written before the field existed
    torch.save(payload, path)
    assert CellVAE.load(path).result.precision == "32"
