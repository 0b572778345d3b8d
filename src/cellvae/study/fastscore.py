"""Faster scib-metrics scoring, same metrics: exact neighbours, no per-length kBET compiles.

Profiling one null simulation's scoring (3 scopes, 7 embeddings, 3,500 cells) found three
costs that are not the metrics themselves: pynndescent's numba compilation in every new
process (about 35 s on one core, once for the Benchmarker's graph and again inside kBET's
diffusion neighbours), JAX compiling ``jnp.unique`` once per cell-type size in kBET, and the
Benchmarker's ``gc.collect()`` before every metric.  :func:`fast_scoring` removes all three for
the duration of a scoring call.
"""

from __future__ import annotations

import contextlib
import gc
import warnings

import numpy as np

from .._io import cache_dir


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


@contextlib.contextmanager
def fast_scoring():
    """Persistent JAX compilation cache, the kBET shims, exact neighbours and a frozen heap for gc."""
    import jax
    from scib_metrics import nearest_neighbors
    from scib_metrics.metrics import _kbet

    jax.config.update("jax_compilation_cache_dir", str(cache_dir() / "jax"))
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)
    jnp, _kbet.jnp = _kbet.jnp, _HostUnique(_kbet.jnp)
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
        _kbet.jnp, nearest_neighbors.pynndescent = jnp, nnd


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
