"""The scope sentence names what the build ran on."""

from __future__ import annotations

import numpy as np


def test_scope_sentence_names_what_the_build_ran_on():
    import anndata as ad

    from cellvae.study.book.glue import scope_sentence

    sim = ad.AnnData(np.zeros((3, 2)), uns={"simulation": {"seed": 0}})
    assert "simulated data" in scope_sentence(sim)
    realfile = ad.AnnData(np.zeros((3, 2)), uns={"source": "the real file x.h5ad"})
    text = scope_sentence(realfile)
    assert "x.h5ad" in text and "simulated" not in text


def test_csv_link_carries_the_whole_table():
    import base64
    import re

    import pandas as pd

    from cellvae.study.book.glue import csv_link

    df = pd.DataFrame({"model": ["M1", "M2"], "test ELBO": [-300.5, -299.25]})
    html = csv_link(df, "t", label="Table X as CSV").data
    data = re.search(r'href="data:text/csv;base64,([^"]+)"', html).group(1)
    assert pd.read_csv(__import__("io").StringIO(base64.b64decode(data).decode())).equals(df)
    assert 'download="t.csv"' in html and "Table X as CSV</a> (2 rows)" in html
