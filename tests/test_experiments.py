"""The experiment runner's cache: hits, misses on a config change, corrupt entries retrained."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from cellvae.model import TrainConfig, VAEConfig
from cellvae.study.calls import collapse, selection
from cellvae.study.runner import grid
from cellvae.study.runner import runs as ex
from cellvae.study.runner.cache import data_key
from cellvae.study.runner.tables import results_table

BASE = grid.RunSpec(arch="T", family="nb/raw", variant="raw",
                    model=VAEConfig(n_latent=3, n_hidden=16, likelihood="nb"),
                    train=TrainConfig(max_epochs=2, batch_size=256, patience=0, kl_warmup_epochs=1,
                                      progress=False), iwae_k=3)


def _spec(**kw):
    return grid.variant_of(BASE, **kw)


@pytest.fixture
def cache(tmp_path):
    return ex.RunCache(tmp_path / "runs")


def test_cache_hit_and_miss(sim, cache):
    first = ex.run_all(sim, [_spec()], cache=cache, progress=False)[0]
    assert not first.cached and first.metrics["status"] == "ok"
    again = ex.run_all(sim, [_spec()], cache=cache, progress=False)[0]
    assert again.cached
    np.testing.assert_array_equal(again.latent, first.latent)
    assert again.metrics == first.metrics
    changed = ex.run_all(sim, [_spec(n_hidden=17)], cache=cache, progress=False)[0]
    assert not changed.cached
    assert len(list(cache.root.glob("*.npz"))) == 2 and len(list(cache.root.glob("*.pt"))) == 2


def test_key_depends_on_data_and_spec():
    s = _spec()
    assert s.key("aaa") != s.key("bbb")
    assert s.key("aaa") != _spec(beta=2.0).key("aaa")
    assert s.key("aaa") == _spec().key("aaa")


@pytest.mark.parametrize("damage", ["truncate", "garbage", "tamper", "metric", "iwae"])
def test_corrupt_entry_is_retrained(sim, cache, damage, capsys):
    spec = _spec()
    first = ex.run_all(sim, [spec], cache=cache, progress=False)[0]
    path = cache.path(spec.key(data_key(sim)))
    if damage == "truncate":
        path.write_bytes(path.read_bytes()[:100])
    elif damage == "garbage":
        path.write_bytes(b"\x00" * 64)
    else:  # a valid npz whose content no longer matches its checksum
        import json

        with np.load(path) as z:
            arrays = {k: z[k] for k in z.files}
        if damage == "tamper":
            arrays["latent"] = arrays["latent"] + 1
        elif damage == "iwae":
            arrays["iwae_cells"] = arrays["iwae_cells"] + 1
        else:
            meta = json.loads(str(arrays["meta"]))
            meta["metrics"]["test_iwae"] += 100.0  # a better-looking model, by hand
            arrays["meta"] = np.array(json.dumps(meta))
        with open(path, "wb") as fh:
            np.savez(fh, **arrays)
    again = ex.run_all(sim, [spec], cache=cache, progress=False)[0]
    assert not again.cached
    assert "corrupt" in capsys.readouterr().out
    np.testing.assert_allclose(again.latent, first.latent, rtol=1e-5, atol=1e-6)  # same seed, same numbers
    assert ex.run_all(sim, [spec], cache=cache, progress=False)[0].cached


def test_executor_seam(sim, cache):
    specs = [_spec(), _spec(n_latent=2)]
    with ThreadPoolExecutor(max_workers=2) as pool:
        res = ex.run_all(sim, specs, cache=cache, executor=pool, progress=False)
    assert [r.spec for r in res] == specs
    assert all(r.metrics["status"] == "ok" for r in res)


def test_divergence_is_recorded_not_raised(sim, cache):
    spec = _spec(likelihood="gaussian", family="gaussian/raw", lr=1e8, batch_size=64)
    res = ex.run_all(sim, [spec], cache=cache, progress=False)[0]
    assert "diverged" in res.metrics["status"] and res.latent is None
    assert results_table([res])["status"].iloc[0].startswith("gaussian likelihood diverged")


def test_choose_model_on_trained_runs_uses_validation(sim, cache):
    specs = [_spec(arch="A", n_latent=2), _spec(arch="B", n_latent=4), _spec(arch="C", n_latent=6)]
    res = ex.run_all(sim, specs, cache=cache, progress=False)
    assert all(np.isfinite(r.metrics["val_iwae"]) for r in res)
    choice = selection.choose_model(res, family="nb/raw")
    val = {r.spec.arch: r.metrics["val_iwae"] for r in res}
    assert choice.best.spec.arch == max(val, key=val.get)
    assert choice.gap >= 0 and choice.ranking["gap to best"].iloc[0] == 0
    g = choice.glue()
    assert g["best_model"] == choice.best.spec.arch and "cannot be judged" in g["gap_verdict"]  # one seed
    tab = results_table(res)
    np.testing.assert_allclose(tab["test ELBO"], -(tab["test recon"] + tab["test KL"]), rtol=1e-6)
    assert set(tab["stopped"]) <= {"early_stopping", "max_epochs"}


def test_grid_names():
    specs = grid.grid_specs()
    assert len(specs) == 15
    m5 = [s for s in specs if s.arch == "M5"][0]
    assert (m5.model.n_latent, m5.model.n_hidden) == (50, 1024)
    assert all(s.train is grid.BOOK_TRAIN for s in specs)
    report = grid.report_specs()
    assert len(report) == 5 * len(grid.SEEDS) + 3 * 5 + len(grid.ABLATION_FAMILIES) and len(grid.SEEDS) >= 3
    nb_seeds = {s.train.seed for s in report if s.family == "nb/raw"}
    assert nb_seeds == set(grid.SEEDS) and len({s.key("d") for s in report}) == len(report)
    assert {s.train.split_seed for s in report} == {0}  # one set of validation cells for every seed


def test_variant_of_routes_fields():
    s = _spec(beta=4.0, seed=3, conditional=True)
    assert s.model.beta == 4.0 and s.train.seed == 3 and s.conditional
    assert s.model.n_latent == BASE.model.n_latent and s.train.max_epochs == BASE.train.max_epochs
    with pytest.raises(TypeError, match="no RunSpec"):
        _spec(n_epochs=3)
    plain, cond = grid.batch_pair(_spec(seed=5))
    assert plain == _spec(seed=5) and cond.train == plain.train and plain.train.seed == 5
    assert cond.conditional and not plain.conditional


def test_beta_summary_finds_collapse(monkeypatch):
    import pandas as pd

    tab = pd.DataFrame({"beta": [0.25, 1.0, 4.0, 16.0], "active units": [10, 10, 6, 1]})
    s = collapse.beta_summary(tab)
    assert s["au_beta1"] == 10 and s["collapse_beta"] == "starts at beta = 16" and s["au_beta_max"] == 1
    monkeypatch.setattr(collapse, "SWEEP_COLLAPSE_SHARE", 0.7)  # 6 of 10 units is now a collapse
    assert collapse.beta_summary(tab)["collapse_beta"] == "starts at beta = 4"
    monkeypatch.setattr(collapse, "SWEEP_COLLAPSE_SHARE", 0.05)  # 1 of 10 is not below 0.5: none
    assert collapse.beta_summary(tab)["collapse_beta"] == "happens at none of the betas tried (up to 16)"


def test_mc_agreement_flips_with_the_gap():
    assert "within 1.0 Monte Carlo" in collapse.mc_agreement([1.0, 2.0], [1.1, 2.0], [0.1, 0.1])
    assert "more than sampling noise" in collapse.mc_agreement([1.0, 2.0], [1.5, 2.0], [0.1, 0.1])


def test_interrupted_run_is_not_cached(sim, cache, monkeypatch):
    from cellvae.model import TrainResult

    monkeypatch.setattr(ex, "train", lambda *a, **k: TrainResult(history=[{}], stopped="interrupted"))
    with pytest.raises(KeyboardInterrupt, match="interrupted after 1 epoch"):
        ex.run_all(sim, [_spec()], cache=cache, progress=False)
    assert not list(cache.root.glob("*"))


def test_data_key_changes_with_split_subset_and_columns(sim):
    base = data_key(sim)
    assert data_key(sim) == base
    other_split = sim.copy()
    other_split.obs["split"] = other_split.obs["split"].to_numpy()[::-1]
    assert data_key(other_split) != base
    relabelled = sim.copy()
    relabelled.obs["batch"] = relabelled.obs["batch"].to_numpy()[::-1]
    assert data_key(relabelled) != base
    subset = sim[: sim.n_obs - 1].copy()  # keeps the parent's uns['cellvae']['fingerprint']
    assert data_key(subset) != base
    recounted = sim.copy()
    recounted.layers["counts"] = recounted.layers["counts"] * 2  # same obs, other counts
    assert data_key(recounted) != base


def test_edited_source_changes_the_key(sim, monkeypatch):
    from cellvae.study.runner import cache as cache_mod

    before = data_key(sim)
    monkeypatch.setattr(cache_mod, "source_digest", lambda: "edited")
    assert data_key(sim) != before
