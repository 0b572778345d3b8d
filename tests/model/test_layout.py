"""The model's input checks: missing layers, unknown batch keys, other genes, non-integer counts."""

from __future__ import annotations

import pytest

from cellvae.data import DataError
from cellvae.model import CellVAE


def test_model_input_errors(sim):
    with pytest.raises(DataError, match=r"no layers\['nope'\]"):
        CellVAE(sim, layer="nope")
    with pytest.raises(DataError, match="batch_key 'donor' is not an obs column"):
        CellVAE(sim, layer="counts", batch_key="donor")
    m = CellVAE(sim, layer="counts", n_latent=2, n_hidden=8)
    with pytest.raises(DataError, match="genes differ"):
        m.get_latent(sim[:, :50])
    with pytest.raises(DataError, match="no AnnData bound"):
        m.get_latent()
    norm = sim.copy()
    norm.layers["lognorm"] = norm.layers["counts"].log1p()
    with pytest.raises(DataError, match="not integers"):
        CellVAE(norm, layer="lognorm", likelihood="nb")
