"""The two scIB paths (scoring.metrics and scoring.integration) on the same starter embeddings.

Usage: `python benchmarks/scib_paths.py` (scores are cached under $CELLVAE_CACHE). Prints each
shared metric by both paths and their difference, for the PCA of the starter and a random embedding.
"""
import time

import numpy as np

from cellvae.study.runner.bookdata import starter_data
from cellvae.study.scoring.integration import benchmark
from cellvae.study.scoring.metrics import PCA_KEY, cached_scib_scores, pca

a = starter_data()
pca(a, n_comps=50)
a.obsm["X_rand"] = np.random.default_rng(0).normal(size=(a.n_obs, 10)).astype(np.float32)
for key in (PCA_KEY, "X_rand"):
    t = time.time()
    m = cached_scib_scores(a, key)
    t1, t = time.time() - t, time.time()
    b = benchmark(a, {key: key}, full=False).iloc[0]
    t2 = time.time() - t
    print(key, f"metrics path {t1:.1f} s, Benchmarker path {t2:.1f} s")
    for x, y in (("iLISI", "iLISI"), ("kBET", "KBET"), ("NMI", "KMeans NMI"), ("ARI", "KMeans ARI"),
                 ("silhouette label", "Silhouette label"), ("cLISI", "cLISI"), ("batch mixing", "Batch mixing"),
                 ("bio conservation", "Bio conservation")):
        print(f"  {x:18s} {m[x]:.4f}  {y:18s} {b[y]:.4f}  diff {b[y] - m[x]:+.4f}")
