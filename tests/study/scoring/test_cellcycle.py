"""Cell-cycle conservation: PCR against scib-metrics, the metric's ends, and phase scores."""

import numpy as np
import pytest

from cellvae.data.calibration import CC_S_GENES
from cellvae.data.simulate import simulate_bmmc
from cellvae.study.scoring.cellcycle import cell_cycle_conservation, cycle_scores, marker_text, pcr


def test_pcr_matches_scib_metrics():
    from scib_metrics.utils import principal_component_regression

    rng = np.random.default_rng(0)
    cov = rng.normal(size=200)
    x = rng.normal(size=(200, 8)) + np.outer(cov, rng.normal(size=8))
    assert pcr(x, cov) == pytest.approx(principal_component_regression(x, cov), abs=1e-5)
    groups = rng.integers(0, 3, 200)
    onehot = np.eye(3)[groups]
    y = x + 2 * onehot @ rng.normal(size=(3, 8))
    assert pcr(y, onehot) == pytest.approx(principal_component_regression(y, groups, categorical=True), abs=1e-5)


def _cycling(n=600, seed=0):
    rng = np.random.default_rng(seed)
    scores = rng.normal(size=(n, 2))
    pre = rng.normal(size=(n, 20)) + scores @ rng.normal(size=(2, 20))
    batch = np.repeat(["a", "b", "c"], n // 3)
    return pre, scores, batch


def test_conservation_is_one_when_kept_and_falls_when_erased():
    pre, scores, batch = _cycling()
    assert cell_cycle_conservation(pre, pre, scores, batch) == pytest.approx(1.0)
    beta = np.linalg.lstsq(scores, pre, rcond=None)[0]
    erased = pre - scores @ beta  # the cell cycle regressed out
    assert cell_cycle_conservation(erased, pre, scores, batch) < 0.2
    inflated = np.hstack([pre, 10 * scores])
    assert cell_cycle_conservation(inflated, pre, scores, batch) < 0.5


def test_small_batches_are_left_out_and_none_left_is_nan():
    pre, scores, batch = _cycling(n=30)
    assert np.isnan(cell_cycle_conservation(pre, pre, scores, batch))  # 10 cells per batch
    assert cell_cycle_conservation(pre, pre, scores, batch, min_cells=5) == pytest.approx(1.0)


def test_too_few_markers_give_none_and_say_so():
    a = simulate_bmmc(200, 400, seed=0)
    assert marker_text(a).startswith("scored from")
    keep = [g for g in a.var_names if g not in CC_S_GENES[1:]]  # one S-phase marker left
    b = a[:, keep].copy()
    assert cycle_scores(b) is None
    assert marker_text(b).startswith("not measurable here")
    del b.layers["counts"]
    assert "no raw counts" in marker_text(b)
