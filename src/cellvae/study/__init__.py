"""The study: the report's own code, which the book's chapters import.

It is cut into six layers, lowest first; a module imports only its own layer and those below
(``tests/test_architecture.py`` checks this), and ARCHITECTURE.md at the repository root is
the map:

- :mod:`~cellvae.study.runner`: the run specs, the run cache, the runs, the pool, the book's
  data and the one cache helper (:mod:`~cellvae.study.runner.store`);
- :mod:`~cellvae.study.scoring`: embeddings and scIB scores, and the integration baselines;
- :mod:`~cellvae.study.calls`: controls, nulls, verdicts, the model choice and collapse;
- :mod:`~cellvae.study.figures`: the figures, drawn in one style;
- :mod:`~cellvae.study.chapters`: one module per chapter that needs more than a call;
- :mod:`~cellvae.study.book`: glue helpers, the Sphinx extensions and ``cellvae-grid``.

The study imports the library (:mod:`cellvae.data`, :mod:`cellvae.model`); the library
never imports the study.
"""
