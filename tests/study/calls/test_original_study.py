"""The original study: its 0.0002, its collapsed latents, and the collapse sentence, against references."""

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


def test_collapsed_sentence_against_the_random_projections_bound():
    s = pd.DataFrame({"KMeans NMI": [0.29, 0.68, 0.03], "Bio conservation": [0.44, 0.62, 0.34]},
                     index=["c", "nb", "random projection"])
    noise = np.array([0.09, 0.10, 0.11, 0.10])  # upper 95% bound: 0.1 + 2.35 * 0.0082 * 1.12 = 0.1215 (0.121)
    assert "clusters cell types beyond what an untrained linear map keeps" in original_study.collapsed_sentence(
        s, noise, "c", "nb")
    assert "the collapsed c latent" in original_study.collapsed_sentence(s, noise, "c", "nb")
    assert "the non-collapsed c latent" in original_study.collapsed_sentence(s, noise, "c", "nb", is_collapsed=False)
    assert "bound is 0.121" in original_study.collapsed_sentence(s, noise, "c", "nb")
    s.loc["c", "KMeans NMI"] = 0.12  # above every draw, inside the bound
    assert "no better than a random projection of the same counts" in original_study.collapsed_sentence(
        s, noise, "c", "nb")
    assert "beyond what an untrained" in original_study.collapsed_sentence(s, noise / 2, "c", "nb")  # a lower null


def _orig(models, latents, hidden, active, kl):
    return pd.DataFrame({"model": models, "latent": latents, "hidden": hidden,
                         "beta_eff": [1000 / d for d in latents], "test KL": kl, "active units": active,
                         "collapsed": [k < 0.5 and a <= 1 for k, a in zip(kl, active)]})


def test_collapse_sentence_follows_the_table():
    follows = _orig(["M1", "M3"], [10, 100], [256, 256], [0, 40], [0.01, 30.0])
    assert "consistent with beta_eff" in original_study.collapse_sentence(follows)
    assert "width matters" not in original_study.collapse_sentence(follows)
    # the starter's own Table R2: one collapse, and at beta_eff 20 the width decides
    starter = _orig(["M1", "M2", "M3", "M4", "M5"], [10, 50, 100, 50, 50], [256, 256, 256, 512, 1024],
                    [0, 26, 57, 4, 1], [0.029, 0.65, 1.6, 0.7, 0.64])
    text = original_study.collapse_sentence(starter)
    assert "consistent with beta_eff: the collapsed run has" in text
    assert "at beta_eff = 20, M2 (hidden 256) keeps 26 active units and M5 (hidden 1024) 1" in text
    breaks = _orig(["M2", "M5"], [50, 50], [256, 1024], [26, 1], [20.0, 0.1])
    text = original_study.collapse_sentence(breaks)
    assert "does not follow" in text and "M2" in text and "M5" in text
    assert "every architecture collapsed" in original_study.collapse_sentence(_orig(["M1"], [10], [256], [0], [0.0]))


def test_recon_verdict_flips_with_the_factor():
    assert original_study.recon_verdict(np.array([1.5e-4, 3e-4])).startswith("reproduced here")
    far = original_study.recon_verdict(np.array([0.09, 0.1]))
    assert far.startswith("not reproduced here") and "475 times larger" in far
