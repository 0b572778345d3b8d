"""The original's 0.0002 and its collapsed latents: verdicts computed against references."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from cellvae.study import original


def test_mse_per_element_removes_the_gaussian_constant():
    g = 100
    recon = np.array([g * (0.5 * np.log(2 * np.pi) + 0.5 * 0.04)])
    assert original.mse_per_element(recon, g) == pytest.approx([0.04])


def test_mse_sentence_reproduced_or_not():
    assert "the number is reproduced" in original.mse_sentence(np.array([2.5e-4, 3e-4]))
    text = original.mse_sentence(np.array([0.2, 0.21]))
    assert "not reproduced" in text and "1,025 times" in text


def test_collapsed_sentence_against_noise():
    s = pd.DataFrame({"NMI": [0.29, 0.68, 0.03], "bio conservation": [0.44, 0.62, 0.34]},
                     index=["c", "nb", "random noise"])
    assert "still clusters cell types" in original.collapsed_sentence(s, "c", "nb")
    assert "the collapsed c latent" in original.collapsed_sentence(s, "c", "nb")
    assert "the non-collapsed c latent" in original.collapsed_sentence(s, "c", "nb", is_collapsed=False)
    s.loc["c", "NMI"] = 0.1
    assert "no better than noise" in original.collapsed_sentence(s, "c", "nb")
