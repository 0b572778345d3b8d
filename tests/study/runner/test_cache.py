"""The run cache's key: it follows the data, and the code that shapes a trained run and nothing else.

The source-digest tests copy the package, edit one file of the copy, and compare the training digest
(:func:`cellvae.study.runner.cache.source_digest`'s input) before and after.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from cellvae.study.runner import cache
from cellvae.study.runner.cache import data_key

PKG = Path(cache.__file__).resolve().parents[2]


@pytest.fixture
def package(tmp_path, monkeypatch):
    """A copy of the cellvae package that :func:`cache.tree_digest` reads."""
    copy = tmp_path / "cellvae"
    shutil.copytree(PKG, copy, ignore=shutil.ignore_patterns("__pycache__", "*.h5ad"))
    monkeypatch.setattr(cache, "PACKAGE", copy)
    return copy


def digest() -> str:
    return cache.tree_digest(cache.TRAINING_SOURCES, code_only=True)


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, f"{old!r} not in {path.name}: the test needs updating"
    path.write_text(text.replace(old, new, 1))


# (file, text, replacement): edits that change no trained run.
KEEPS = [
    ("study/runner/progress.py", "held-out ELBO", "held-out evidence bound"),       # a sentence
    ("study/runner/tables.py", '"test IWAE"', '"held-out IWAE"'),                   # a column name
    ("study/figures/ppc.py", 'ax.set_xlabel("error (0 best)")', 'ax.set_xlabel("error")'),  # a figure
    ("study/runner/runs.py", '"""The runner:', '"""The study\'s runner:'),           # a docstring
    ("model/trainer.py", "\nfrom __future__ import annotations\n",
     "\nfrom __future__ import annotations  # a comment\n"),                          # a comment
    ("study/chapters/conclusions.py", "The", "A"),                                   # a chapter
]
# edits that change what a run computes.
RETRAINS = [
    ("model/distributions.py", "def log_nb(", "def log_nb_renamed("),              # the NB likelihood
    ("model/module.py", "    def loss(self,", "    def loss_edited(self,"),                  # the loss
    ("model/trainer.py", "def train(", "def train_edited("),                       # the trainer
    ("study/runner/grid.py", "BOOK_IWAE_K = 20", "BOOK_IWAE_K = 21"),              # a budget value
    ("data/preprocess.py", "def get_variant(", "def get_variant_edited("),         # a data variant
]


@pytest.mark.parametrize(("rel", "old", "new"), KEEPS, ids=[k[0] for k in KEEPS])
def test_editing_words_keeps_every_cached_run(package, rel, old, new):
    before = digest()
    edit(package / rel, old, new)
    assert digest() == before


@pytest.mark.parametrize(("rel", "old", "new"), RETRAINS, ids=[r[0] for r in RETRAINS])
def test_editing_training_code_retrains(package, rel, old, new):
    before = digest()
    edit(package / rel, old, new)
    assert digest() != before


def test_code_digest_ignores_docstrings_comments_and_layout_only():
    base = 'def f(x):\n    """Doc."""\n    return x + 1\n'
    same = 'def f(x):  # note\n    """Other doc."""\n\n    return (x +\n            1)\n'
    assert cache.code_digest(base) == cache.code_digest(same)
    assert cache.code_digest(base) != cache.code_digest(base.replace("+ 1", "+ 2"))
    assert cache.code_digest(base) != cache.code_digest(base.replace('"""Doc."""', 'y = "Doc."'))


def test_the_loss_code_is_in_the_key():
    assert "model" in cache.TRAINING_SOURCES
    for rel in cache.TRAINING_SOURCES:
        assert (PKG / rel).exists(), rel


def test_data_key_changes_with_split_subset_and_columns(sim):
    base = data_key(sim)
    assert data_key(sim) == base
    other_split = sim.copy()
    other_split.obs["split"] = other_split.obs["split"].to_numpy()[::-1]
    assert data_key(other_split) != base
    relabelled = sim.copy()
    relabelled.obs["batch"] = relabelled.obs["batch"].to_numpy()[::-1]
    assert data_key(relabelled) != base
    subset = sim[: sim.n_obs - 1].copy()  # keeps the parent's uns['cellvae']['fingerprint']
    assert data_key(subset) != base
    recounted = sim.copy()
    recounted.layers["counts"] = recounted.layers["counts"] * 2  # same obs, other counts
    assert data_key(recounted) != base


def test_edited_source_changes_the_key(sim, monkeypatch):
    from cellvae.study.runner import cache as cache_mod

    before = data_key(sim)
    monkeypatch.setattr(cache_mod, "source_digest", lambda: "edited")
    assert data_key(sim) != before

