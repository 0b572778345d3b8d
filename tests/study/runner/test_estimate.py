"""The grid's projection: epoch ranges from the book's own runs, probed step times, and the ETA."""

from __future__ import annotations

import pytest

from cellvae.study.runner import estimate as est
from cellvae.study.runner import grid, progress
from cellvae.study.runner.cache import RunResult

from tinyruns import tiny


def test_epoch_range_keeps_steps_at_most_epochs_and_never_stops_before_warmup_and_patience():
    nb = grid.family_spec("M1", "nb/raw")
    high = est.REFERENCE_EPOCHS["nb/raw"]
    assert est.epoch_range(nb, est.REFERENCE_CELLS) == (high, high)         # the reference itself
    low, hi = est.epoch_range(nb, 2 * est.REFERENCE_CELLS)
    assert hi == high and low == -(-high // 2)                             # as many Adam steps
    floor = nb.train.kl_warmup_epochs + nb.train.patience
    assert est.epoch_range(nb, 100 * est.REFERENCE_CELLS) == (floor, high)  # never below warm-up + patience
    capped = grid.variant_of(nb, max_epochs=50)
    assert est.epoch_range(capped, est.REFERENCE_CELLS) == (50, 50)
    assert est.epoch_range(grid.family_spec("M1", "gaussian/processed"), est.REFERENCE_CELLS)[1] == \
        est.REFERENCE_EPOCHS["gaussian/processed"]


def test_probe_times_the_runs_own_shape_once_per_shape(sim):
    a, b, wide = tiny(), tiny(seed=3), tiny(n_hidden=64, conditional=True)
    assert est.shape_of(a) == est.shape_of(b) != est.shape_of(wide)
    ca, cb, cw = est.costs(sim, [a, b, wide])
    assert ca.epoch_seconds == cb.epoch_seconds > 0 and ca.eval_seconds > 0
    assert cw.epoch_seconds > 0 and cw != ca
    lo, hi = ca.seconds
    assert lo <= hi and lo == pytest.approx(ca.epochs[0] * ca.epoch_seconds + ca.eval_seconds)
    assert est.fitted_cells(sim) < (sim.obs["split"] == "train").sum()


def test_eta_rescales_what_is_left_by_what_was_timed_and_counts_cached_runs_as_free():
    a, b = tiny(arch="A"), tiny(arch="B")
    cost = est.Cost(epoch_seconds=1.0, eval_seconds=5.0, epochs=(10, 10))
    eta = est.Eta.of([a, b, b], [cost] * 3, jobs=2, then=30.0)
    assert eta.scale == 1.0 and eta.remaining() == pytest.approx(3 * 15 / 2 + 30)
    eta.done(a.label, 20.0)                                  # took twice its projected 10 s of training
    assert eta.scale == pytest.approx(2.0)
    assert eta.remaining() == pytest.approx(2 * (10 * 2 + 5) / 2 + 30)
    eta.done(b.label, None)                                  # read from the cache: no timing
    assert eta.scale == pytest.approx(2.0) and eta.remaining() == pytest.approx((10 * 2 + 5) / 2 + 30)
    eta.done("a run it never projected", 99.0)
    assert len(eta.timed) == 1


def test_each_runs_line_carries_the_eta_while_a_build_is_tracked():
    spec = tiny()
    res = RunResult(spec, {"status": "ok", "seconds": 12.0, "epochs": 3, "stopped": "early_stopping",
                           "test_elbo": -100.0})
    assert "left" not in progress.describe(res)
    eta = est.Eta.of([spec, tiny(arch="X")], [est.Cost(1.0, 0.0, (60, 60))] * 2, jobs=1, then=120.0)
    progress.track(eta)
    try:
        line = progress.describe(res)
    finally:
        progress.track(None)
    assert line.endswith("12 s; about 2 min left") and eta.scale == pytest.approx(12 / 60)
    assert progress.eta_text() == ""


def test_named_work_that_prints_no_line_leaves_the_eta_when_finished():
    eta = est.Eta({}, jobs=2, then=10.0, later={"controls": 100.0})
    assert eta.remaining() == pytest.approx(60.0)
    progress.track(eta)
    try:
        progress.finish("controls")
        progress.finish("never named")
    finally:
        progress.track(None)
    assert eta.remaining() == pytest.approx(10.0)


def test_runs_projected_under_a_stand_in_label_are_taken_by_the_runs_that_come():
    cost = est.Cost(epoch_seconds=1.0, eval_seconds=0.0, epochs=(10, 10))
    stand_in, known = tiny(arch="M5"), tiny(arch="K")
    eta = est.Eta.of([stand_in, stand_in, known], [cost] * 3, any_label=frozenset({stand_in.label}))
    assert set(eta.todo) == {est.slot(est.ANY, None), est.slot(known.label, None)}
    eta.done("M2 chosen run", 5.0)          # a follow-up of the real choice takes a stand-in's place
    eta.done(known.label, 10.0)
    assert eta.remaining() == pytest.approx(10 * (15 / 20)) and len(eta.timed) == 2


def test_a_run_on_other_data_with_the_same_label_does_not_take_a_book_runs_place():
    cost = est.Cost(epoch_seconds=1.0, eval_seconds=0.0, epochs=(100, 100))
    a = tiny(arch="M1")
    eta = est.Eta.of([a, tiny(arch="M5")], [cost] * 2, cells=[3000, 3000], any_label=frozenset({"x"}))
    eta.done(a.label, 2.0, cells=600)           # the starter's M1, same label, other data
    assert eta.timed == [] and eta.remaining() == pytest.approx(200.0)
    eta.done(a.label, 50.0, cells=3000)
    assert eta.scale == pytest.approx(0.5) and eta.remaining() == pytest.approx(50.0)


def test_each_data_set_rescales_only_its_own_runs():
    cost = est.Cost(epoch_seconds=1.0, eval_seconds=0.0, epochs=(10, 10))
    a, b = tiny(arch="M1"), tiny(arch="M2")
    eta = est.Eta.of([a, b, a, b], [cost] * 4, cells=[600, 600, 3000, 3000])
    eta.done(a.label, 100.0, cells=600)          # the starter's run took 10x its probe
    assert eta.scale_of(600) == pytest.approx(10.0) and eta.scale_of(3000) == 1.0
    assert eta.remaining() == pytest.approx(100 + 2 * 10)  # the book's runs keep their projection
    eta.done(a.label, 5.0, cells=3000)
    assert eta.scale == pytest.approx(0.5)        # work that prints no line follows the largest data
    assert eta.remaining() == pytest.approx(100 + 5)


def test_fewer_cells_than_the_reference_take_more_epochs():
    nb = grid.family_spec("M1", "nb/raw")
    ref = est.REFERENCE_EPOCHS["nb/raw"]
    assert est.epoch_range(nb, est.REFERENCE_CELLS // 4) == (ref, 4 * ref)  # as many steps: 4x the epochs
    assert est.epoch_range(nb, est.REFERENCE_CELLS // 10) == (ref, nb.train.max_epochs)  # never past the cap
