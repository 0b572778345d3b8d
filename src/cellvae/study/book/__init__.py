"""Layer 6, the book: glue helpers for pages, the Sphinx extensions, and ``cellvae-grid``.

- :mod:`.glue`: glue values, tables and figures into a page;
- :mod:`.ext_mathjax`, :mod:`.ext_datasource`, :mod:`.ext_parallel`: Sphinx extensions;
- :mod:`.cli`: ``cellvae-grid``, every run and score the book needs, with progress.
"""
