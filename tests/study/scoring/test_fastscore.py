"""The padded kBET kernel equals scib-metrics' own, and the shim is put back after use."""

import numpy as np
import pytest


def test_padded_kbet_equals_the_unpadded_kernel_and_kbet_per_label(monkeypatch):
    from scib_metrics import kbet_per_label, nearest_neighbors
    from scib_metrics.metrics._kbet import _kbet

    from cellvae.study.scoring import fastscore
    from cellvae.study.scoring.fastscore import exact_neighbors, fast_scoring, padded_kbet

    rng = np.random.default_rng(0)
    for n, k, nb in ((10, 10, 2), (137, 23, 5), (300, 11, 12)):
        b = rng.integers(0, nb, n)
        neigh = b[rng.integers(0, n, (n, k))]
        want, got = _kbet(neigh, b, nb), padded_kbet(_kbet)(neigh, b, nb)
        assert got[0].shape == (n,)  # XLA may sum a padded array in another order: equal to float32 rounding
        np.testing.assert_allclose(got[0], np.asarray(want[0]), rtol=1e-6)
        np.testing.assert_allclose(got[1], np.asarray(want[1]), rtol=1e-5, atol=1e-7)
        np.testing.assert_array_equal(got[1] >= 0.05, np.asarray(want[1]) >= 0.05)
    # the whole metric, shimmed and not, on a graph with a batch effect in one of three types
    x = rng.normal(size=(240, 5))
    lab, bat = np.repeat(["a", "b", "c"], 80), np.tile(["s1", "s2"], 120)
    x[(lab == "a") & (bat == "s1"), 0] += 3.0
    graph = exact_neighbors(x, 30)
    with monkeypatch.context() as m:  # the same diffusion neighbours (pynndescent compiles for ~30 s)
        m.setattr(nearest_neighbors, "pynndescent", fastscore._exact_as_pynndescent)
        plain = kbet_per_label(graph, bat, lab)
    from scib_metrics.metrics import _kbet as kbet_module

    with fast_scoring():
        assert kbet_module._kbet is not _kbet  # the padded wrapper is in place ...
        shimmed = kbet_per_label(graph, bat, lab)
    assert kbet_module._kbet is _kbet  # ... and scib-metrics' own kernel is back after
    assert shimmed == plain and 0 < plain < 1
    with pytest.raises(RuntimeError), fast_scoring():
        raise RuntimeError("a metric failed")
    assert kbet_module._kbet is _kbet


def test_diffusion_neighbours_are_computed_once_per_graph_with_the_same_scores(monkeypatch):
    from scib_metrics import kbet_per_label

    from cellvae.study.scoring import fastscore
    from cellvae.study.scoring.mixing import mixing_scores

    rng = np.random.default_rng(1)
    x = rng.normal(size=(300, 5))
    lab, bat = np.repeat(["a", "b", "c"], 100), np.tile(["s1", "s2", "s3"], 100)
    x[(lab == "b") & (bat == "s1"), 1] += 2.5
    graph = fastscore.exact_neighbors(x, 90)
    with monkeypatch.context() as m:  # unshared: every call computes its own
        m.setattr(fastscore, "_SharedDiffusion", lambda fn: fn)
        with fastscore.fast_scoring():
            plain = mixing_scores(graph, bat, lab)
    seeded, calls = fastscore.diffusion_nn, []

    def counted(X, k, n_comps=100):
        calls.append(X.shape)
        return seeded(X, k=k, n_comps=n_comps)

    monkeypatch.setattr(fastscore, "diffusion_nn", counted)
    with fastscore.fast_scoring():
        shared = mixing_scores(graph, bat, lab)
        again = kbet_per_label(graph.subset_neighbors(50), bat, lab)  # the Benchmarker's own call
    assert len(calls) == 3  # once per cell type, for observed and five shuffled labels and one more call
    assert shared == plain and again == plain["KBET"]
    assert plain["Batch mixing"] < 1
    # seeded: the same graph gives the same neighbours, call after call
    sub = graph.subset_neighbors(50).knn_graph_connectivities.tocsr()[:100, :100]
    a, b = seeded(sub, k=10, n_comps=20), seeded(sub, k=10, n_comps=20)
    np.testing.assert_array_equal(a.indices, b.indices)
