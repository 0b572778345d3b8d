"""The study: the report's own code, which the book's chapters import.

- :mod:`~cellvae.study.grid`: the experiment grid and the report's training budget;
- :mod:`~cellvae.study.runs`: the run cache and the runner;
- :mod:`~cellvae.study.local`: one torch thread per run, and a local process pool;
- :mod:`~cellvae.study.metrics`: scanpy embeddings and scib-metrics scores;
- :mod:`~cellvae.study.controls`: null and injected batch-effect controls;
- :mod:`~cellvae.study.batch`: the embeddings the batch chapter compares;
- :mod:`~cellvae.study.eda`: the exploration chapter's summaries;
- :mod:`~cellvae.study.summaries`: the sentences the book glues in;
- :mod:`~cellvae.study.plots`: the figures (seaborn on matplotlib, in a style context);
- :mod:`~cellvae.study.report`: which data the book runs on, and glue helpers;
- :mod:`~cellvae.study.mathjax`: a Sphinx extension serving MathJax from the install.

The study imports the library (:mod:`cellvae.data`, :mod:`cellvae.model`); the library
never imports the study.
"""
