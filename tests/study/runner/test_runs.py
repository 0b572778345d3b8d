"""The experiment runner: cache hits and misses, corrupt entries retrained, divergence, progress lines."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from cellvae.study.runner import runs as ex
from cellvae.study.runner.cache import RunCache, data_key
from cellvae.study.runner.runs import run_all
from cellvae.study.runner.tables import results_table

from tinyruns import SPECS, tiny


@pytest.fixture
def cache(tmp_path):
    return ex.RunCache(tmp_path / "runs")


def test_cache_hit_and_miss(sim, cache):
    first = ex.run_all(sim, [tiny()], cache=cache, progress=False)[0]
    assert not first.cached and first.metrics["status"] == "ok"
    again = ex.run_all(sim, [tiny()], cache=cache, progress=False)[0]
    assert again.cached
    np.testing.assert_array_equal(again.latent, first.latent)
    assert again.metrics == first.metrics
    changed = ex.run_all(sim, [tiny(n_hidden=17)], cache=cache, progress=False)[0]
    assert not changed.cached
    assert len(list(cache.root.glob("*.npz"))) == 2 and len(list(cache.root.glob("*.pt"))) == 2


@pytest.mark.parametrize("damage", ["truncate", "garbage", "tamper", "metric", "iwae"])
def test_corrupt_entry_is_retrained(sim, cache, damage, capsys):
    spec = tiny()
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
    specs = [tiny(), tiny(n_latent=2)]
    with ThreadPoolExecutor(max_workers=2) as pool:
        res = ex.run_all(sim, specs, cache=cache, executor=pool, progress=False)
    assert [r.spec for r in res] == specs
    assert all(r.metrics["status"] == "ok" for r in res)


def test_divergence_is_recorded_not_raised(sim, cache):
    spec = tiny(likelihood="gaussian", family="gaussian/raw", lr=1e8, batch_size=64)
    res = ex.run_all(sim, [spec], cache=cache, progress=False)[0]
    assert "diverged" in res.metrics["status"] and res.latent is None
    assert results_table([res])["status"].iloc[0].startswith("gaussian likelihood diverged")


def test_interrupted_run_is_not_cached(sim, cache, monkeypatch):
    from cellvae.model import TrainResult

    monkeypatch.setattr(ex, "train", lambda *a, **k: TrainResult(history=[{}], stopped="interrupted"))
    with pytest.raises(KeyboardInterrupt, match="interrupted after 1 epoch"):
        ex.run_all(sim, [tiny()], cache=cache, progress=False)
    assert not list(cache.root.glob("*"))




def test_serial_progress_lines(sim, tmp_path, capsys):
    run_all(sim, SPECS[:1], cache=RunCache(tmp_path / "c"), progress=True, verbose=True)
    err_out = capsys.readouterr()
    text = err_out.out + err_out.err
    assert "T0 nb/raw beta=1: 2 epochs (max_epochs), held-out ELBO" in text and "nats/cell" in text
    assert "runs" in err_out.err  # the tqdm bar over runs
