"""Layer 2, scoring: embeddings, the scIB metric set, and the field's integration baselines.

- :mod:`.embed`: PCA, a linear projection and UMAP of one embedding;
- :mod:`.integration`: the one scIB path, scib-metrics' Benchmarker, and the controls;
- :mod:`.mixing`: batch mixing relative to batches shuffled within cell type;
- :mod:`.nulls`: the scores' nulls on one data set (random embeddings, shuffled batches);
- :mod:`.fastscore`, :mod:`.cellcycle`: faster kernels, and cell-cycle conservation;
- :mod:`.baselines`: Harmony and scvi-tools' SCVI;
- :mod:`.prefetch`: scores computed ahead in the grid's pool.
"""
