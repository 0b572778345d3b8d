"""The grid's run specs: names, keys and how variant_of routes fields."""

from __future__ import annotations

import pytest

from cellvae.model import TrainConfig, VAEConfig
from cellvae.study.runner import grid

BASE = grid.RunSpec(arch="T", family="nb/raw", variant="raw",
                    model=VAEConfig(n_latent=3, n_hidden=16, likelihood="nb"),
                    train=TrainConfig(max_epochs=2, batch_size=256, patience=0, kl_warmup_epochs=1,
                                      progress=False), iwae_k=3)


def _spec(**kw):
    return grid.variant_of(BASE, **kw)


def test_key_depends_on_data_and_spec():
    s = _spec()
    assert s.key("aaa") != s.key("bbb")
    assert s.key("aaa") != _spec(beta=2.0).key("aaa")
    assert s.key("aaa") == _spec().key("aaa")


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
