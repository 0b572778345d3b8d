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
