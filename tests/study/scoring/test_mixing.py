"""Batch mixing relative to within-type shuffles: structure alone cannot fail it, separation does."""

from __future__ import annotations

import numpy as np
import pytest

from cellvae.study.scoring.mixing import MIXING, mixing_scores, shuffle_within


def _design(n_types=15, per_type=40, seed=0):
    """Many small types and batches of unequal size, as in the book's data."""
    rng = np.random.default_rng(seed)
    codes = np.repeat(np.arange(n_types), per_type)
    labels = np.array([f"t{c:02d}" for c in codes])
    batch = rng.choice(np.array(["b0", "b1", "b2"]), len(codes), p=[0.7, 0.2, 0.1])
    typed = rng.normal(scale=8.0, size=(n_types, 8))[codes] + rng.normal(size=(len(codes), 8))
    return rng, batch, labels, typed


def _score(x, batch, labels):
    from cellvae.study.scoring.fastscore import exact_neighbors, fast_scoring

    with fast_scoring():
        return mixing_scores(exact_neighbors(x.astype(np.float32), 90), batch, labels, n_shuffles=3)


def test_shuffle_within_keeps_each_types_batch_counts():
    rng, batch, labels, _ = _design()
    out = shuffle_within(batch, labels, rng)
    assert not np.array_equal(out, batch)
    for t in np.unique(labels):
        assert sorted(out[labels == t]) == sorted(batch[labels == t])


def test_mixing_needs_two_shuffles():
    with pytest.raises(ValueError, match="two shuffles"):
        mixing_scores(None, np.array(["a"]), np.array(["x"]), n_shuffles=1)


@pytest.mark.slow
def test_random_and_structured_mixed_embeddings_pass_and_separated_batches_fail():
    rng, batch, labels, typed = _design()
    random = _score(rng.normal(size=typed.shape), batch, labels)
    mixed = _score(typed, batch, labels)
    # the raw iLISI of a random embedding is far from 1 with batches of unequal size ...
    assert random["iLISI"] < 0.8
    # ... but relative to its own shuffles it is mixed, as is a structured embedding with mixed batches
    assert abs(random[MIXING] - 1) < 0.1 and abs(mixed[MIXING] - 1) < 0.1
    assert all(abs(v - 1) < 0.1 for v in mixed["null"])
    split = typed + 6.0 * (batch == "b1")[:, None]  # each batch moved apart within every type
    assert _score(split, batch, labels)[MIXING] < 0.7
