"""The original's 0.0002 and its collapsed latents: verdicts computed against references."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from cellvae.study.calls import original_study


def test_mse_per_element_removes_the_gaussian_constant():
    g = 100
    recon = np.array([g * (0.5 * np.log(2 * np.pi) + 0.5 * 0.04)])
    assert original_study.mse_per_element(recon, g) == pytest.approx([0.04])


def test_mse_sentence_reproduced_or_not():
    assert "the number is reproduced" in original_study.mse_sentence(np.array([2.5e-4, 3e-4]))
    text = original_study.mse_sentence(np.array([0.2, 0.21]))
    assert "not reproduced" in text and "1,025 times" in text


def test_collapsed_sentence_against_the_random_embeddings_bound():
    s = pd.DataFrame({"NMI": [0.29, 0.68, 0.03], "bio conservation": [0.44, 0.62, 0.34]},
                     index=["c", "nb", "random noise"])
    noise = np.array([0.09, 0.10, 0.11, 0.10])  # upper 95% bound: 0.1 + 2.35 * 0.0082 * 1.12 = 0.1215 (0.121)
    assert "still clusters cell types" in original_study.collapsed_sentence(s, noise, "c", "nb")
    assert "the collapsed c latent" in original_study.collapsed_sentence(s, noise, "c", "nb")
    assert "the non-collapsed c latent" in original_study.collapsed_sentence(s, noise, "c", "nb", is_collapsed=False)
    assert "bound is 0.121" in original_study.collapsed_sentence(s, noise, "c", "nb")
    s.loc["c", "NMI"] = 0.12  # above every draw, inside the bound
    assert "no better than random embeddings" in original_study.collapsed_sentence(s, noise, "c", "nb")
    assert "still clusters" in original_study.collapsed_sentence(s, noise / 2, "c", "nb")  # a lower null flips it


def test_noise_nmi_is_low_seeded_and_cached(tmp_path, monkeypatch):
    monkeypatch.setenv("CELLVAE_CACHE", str(tmp_path))
    import anndata as ad

    from cellvae.study.scoring.metrics import noise_nmi

    labels = np.repeat(list("abcd"), 50)
    adata = ad.AnnData(obs=pd.DataFrame({"cell_type": labels}, index=[f"c{i}" for i in range(200)]))
    a = noise_nmi(adata, 5, n_draws=3)
    assert a.shape == (3,) and (a < 0.2).all() and len(set(a)) == 3
    assert len(list((tmp_path / "metrics").glob("*.npz"))) == 1
    np.testing.assert_array_equal(noise_nmi(adata, 5, n_draws=3), a)
    assert not np.array_equal(noise_nmi(adata, 5, n_draws=3, seed=3), a)  # another seed, another entry
    assert noise_nmi(adata, 4, n_draws=3).shape == (3,)
    assert len(list((tmp_path / "metrics").glob("*.npz"))) == 3
