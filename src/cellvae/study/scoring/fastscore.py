"""Faster scib-metrics scoring, same metrics: exact neighbours, no per-length kBET compiles.

Profiling one null simulation's scoring (3 scopes, 7 embeddings, 3,500 cells) found costs
that are not the metrics themselves: pynndescent's numba compilation in every new process
(about 35 s on one core, once for the Benchmarker's graph and again inside kBET's diffusion
neighbours), JAX compiling ``jnp.unique`` and then kBET's own kernel once per cell-type size
(about 0.3 s each, some 200 times in a cold build), and the Benchmarker's ``gc.collect()``
before every metric.  :func:`fast_scoring` removes them for the duration of a scoring call.

kBET per label also computes each cell type's diffusion neighbours from the neighbour graph
alone, never from the batches; yet one score calls it seven times on the same graph (the
Benchmarker's kBET, then batch mixing's on the observed and five shuffled batch labels), and
these neighbours were two thirds of a scoring call's time.  Inside :func:`fast_scoring` they
are computed once per distinct graph (:class:`_SharedDiffusion`), from a seeded start
(:func:`diffusion_nn`), so that a graph's kBET no longer depends on what ran before it.
"""

from __future__ import annotations

import contextlib
import gc
import warnings

import numpy as np

from ..._io import cache_dir


class _HostUnique:
    """``jax.numpy`` as scib-metrics' kBET module sees it, but with NumPy's ``unique``.

    kBET counts batches with ``jnp.unique`` on a host array, which JAX compiles anew for every
    length: once per cell type per embedding, a third of the scoring time.  ``np.unique`` gives
    the same count with no compilation; every other attribute is JAX's own.
    """

    def __init__(self, jnp):
        self._jnp = jnp

    def __getattr__(self, name):
        return np.unique if name == "unique" else getattr(self._jnp, name)


def diffusion_nn(X, k: int, n_comps: int = 100):
    """scib-metrics' ``diffusion_nn``, with ARPACK started from a seeded vector.

    scib-metrics leaves ``eigsh``'s start vector to ARPACK's random default; a seeded one makes
    the neighbours a function of the graph alone, whatever the process computed before.

    Parameters
    ----------
    X
        Cells x cells connectivities (CSR).
    k
        Neighbours wanted (the cell itself comes on top, as in scib-metrics).
    n_comps
        Diffusion components.

    Returns
    -------
    scib_metrics.nearest_neighbors.NeighborsResults
        Exact neighbours in the multiscale diffusion map.
    """
    import scipy.sparse.linalg
    from scib_metrics.utils._diffusion_nn import _EPS, _compute_transitions

    m = _compute_transitions(X).astype(np.float64)
    n_comps = min(m.shape[0] - 1, n_comps)
    start = np.random.default_rng(0).uniform(0.5, 1.5, m.shape[0])
    evals, evecs = scipy.sparse.linalg.eigsh(m, k=n_comps, which="LM", v0=start)
    evals, evecs = evals.astype(np.float32)[::-1] + _EPS, evecs.astype(np.float32)[:, ::-1]
    scaled = np.array([e if e == 1 else e / (1 - e) for e in evals])
    return exact_neighbors(evecs * scaled, k + 1)


class _SharedDiffusion:
    """:func:`diffusion_nn`, computed once per distinct graph, ``k`` and ``n_comps``.

    The key is the graph's content (shape, structure and weights), so two calls share a
    result only when they would compute it from equal inputs.
    """

    def __init__(self, fn):
        self._fn, self._seen = fn, {}

    def __call__(self, X, k: int, n_comps: int = 100):
        import hashlib

        X = X.tocsr()
        h = hashlib.blake2b(digest_size=16)
        for part in (np.asarray(X.shape), X.indptr, X.indices, X.data):
            h.update(np.ascontiguousarray(part).tobytes())
        key = (h.hexdigest(), int(k), int(n_comps))
        if key not in self._seen:
            self._seen[key] = self._fn(X, k=k, n_comps=n_comps)
        return self._seen[key]


def _bucket(n: int) -> int:
    """The next power of two at or above ``n``, at least 64: the row counts kBET is compiled for."""
    return max(64, 1 << (int(n) - 1).bit_length())


def padded_kbet(kernel):
    """scib-metrics' jitted kBET kernel, called on rows padded to :func:`_bucket` sizes.

    The kernel is compiled for every shape it meets, and kBET meets one per cell type.  Padded
    rows carry the batch code ``n_batches``, which ``jnp.bincount(..., length=n_batches)``
    drops, so the expected frequencies are unchanged; their statistics are cut off.  Every
    real row's statistic and p-value equal the unpadded call's to float32 rounding (XLA may
    order a padded array's sums differently).

    Parameters
    ----------
    kernel
        ``scib_metrics.metrics._kbet._kbet``.

    Returns
    -------
    callable
        The same signature and results, compiled for a handful of row counts.
    """
    def call(neigh_batch_ids, batches, n_batches):
        n = len(batches)
        rows = np.full((_bucket(n), neigh_batch_ids.shape[1]), n_batches, dtype=neigh_batch_ids.dtype)
        rows[:n] = neigh_batch_ids
        codes = np.full(len(rows), n_batches, dtype=np.asarray(batches).dtype)
        codes[:n] = batches
        stat, p = kernel(rows, codes, n_batches)
        return np.asarray(stat)[:n], np.asarray(p)[:n]  # sliced on the host: a JAX slice compiles per length

    return call


@contextlib.contextmanager
def fast_scoring():
    """Persistent JAX compilation cache, the kBET shims, shared diffusion neighbours, exact neighbours, a frozen gc heap."""
    import jax
    from scib_metrics import nearest_neighbors
    from scib_metrics.metrics import _kbet

    jax.config.update("jax_compilation_cache_dir", str(cache_dir() / "jax"))
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)
    jnp, _kbet.jnp = _kbet.jnp, _HostUnique(_kbet.jnp)
    kernel, _kbet._kbet = _kbet._kbet, padded_kbet(_kbet._kbet)
    diffusion, _kbet.diffusion_nn = _kbet.diffusion_nn, _SharedDiffusion(diffusion_nn)
    # kBET's diffusion neighbours call pynndescent once per cell type: exact ones instead
    nnd, nearest_neighbors.pynndescent = nearest_neighbors.pynndescent, _exact_as_pynndescent
    # The Benchmarker calls gc.collect() before every metric: with torch, JAX and scanpy loaded
    # that is ~0.5 s a call.  Freezing the objects that exist now keeps each collection to what
    # the metrics allocate.
    gc.freeze()
    try:
        with warnings.catch_warnings():  # pynndescent warns on small scopes, where 90 neighbours is most cells
            warnings.simplefilter("ignore")
            yield
    finally:
        gc.unfreeze()
        _kbet.jnp, _kbet._kbet, nearest_neighbors.pynndescent, _kbet.diffusion_nn = jnp, kernel, nnd, diffusion


def exact_neighbors(x: np.ndarray, k: int):
    """Exact Euclidean k nearest neighbours of every row, itself first, as scib-metrics takes them.

    The Benchmarker's default, pynndescent, is approximate and JIT-compiles with numba in every
    new process (about 30 s on one core); at the few thousand cells scored here an exact
    search takes milliseconds.

    Parameters
    ----------
    x
        Cells x dimensions.
    k
        Neighbours per cell, the cell itself included.

    Returns
    -------
    scib_metrics.nearest_neighbors.NeighborsResults
    """
    from scib_metrics.nearest_neighbors import NeighborsResults
    from sklearn.neighbors import NearestNeighbors

    k = min(k, len(x))
    dist, idx = NearestNeighbors(n_neighbors=k).fit(x).kneighbors(x)
    return NeighborsResults(indices=idx, distances=dist)


def _exact_as_pynndescent(x: np.ndarray, n_neighbors: int, random_state: int = 0, n_jobs: int = 1):
    return exact_neighbors(x, n_neighbors)
