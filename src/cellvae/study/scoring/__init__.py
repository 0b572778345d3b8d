"""Layer 2, scoring: embeddings, the scIB metric set, and the field's integration baselines.

- :mod:`.metrics`: PCA, UMAP and scIB scores of one embedding;
- :mod:`.integration`: the full scIB set through scib-metrics' Benchmarker, and controls;
- :mod:`.fastscore`, :mod:`.cellcycle`: faster kernels, and cell-cycle conservation;
- :mod:`.baselines`: Harmony and scvi-tools' SCVI;
- :mod:`.prefetch`: scores computed ahead in the grid's pool.
"""
