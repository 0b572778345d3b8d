"""The real cells chapter's runs on the shipped starter: their training budget, architectures and seeds."""

from __future__ import annotations

from dataclasses import replace

from .grid import ARCHITECTURES, BOOK_TRAIN, SEEDS, RunSpec, family_spec, variant_of, zinb_of

#: Training on 480 cells: an epoch is only ~3 Adam steps at batch 128, so the epoch budget
#: is raised until early stopping, not the cap, ends most runs (the page counts them), and
#: warm-up and patience scale with it: 30 epochs are ~100 steps here (the book grid's 10
#: epochs are ~190 on its 2,430 fitting cells).
STARTER_TRAIN = replace(BOOK_TRAIN, max_epochs=400, kl_warmup_epochs=30, patience=30, batch_size=128)
#: The architecture of the batch and ZINB checks, fixed before seeing any result: the one with
#: the fewest latent units (10) and the fewest weights, for 480 training cells.
REAL_ARCH = "M1"


def _on_starter(spec: RunSpec) -> RunSpec:
    return replace(spec, train=STARTER_TRAIN)


def real_specs() -> list[RunSpec]:
    """NB and the original objective for every architecture, plus NB +batch and ZINB of :data:`REAL_ARCH`.

    Returns
    -------
    list of RunSpec
        All on :data:`STARTER_TRAIN`.
    """
    nb = [_on_starter(family_spec(a, "nb/raw")) for a in ARCHITECTURES]
    orig = [_on_starter(family_spec(a, "original")) for a in ARCHITECTURES]
    base = nb[list(ARCHITECTURES).index(REAL_ARCH)]
    return nb + orig + [replace(base, conditional=True), zinb_of(base)]


def seed_specs() -> list[RunSpec]:
    """The plain NB run of :data:`REAL_ARCH` at the other training seeds: the spread of its batch mixing.

    Returns
    -------
    list of RunSpec
        One per :data:`~cellvae.study.runner.grid.SEEDS` after the first, on :data:`STARTER_TRAIN`.
    """
    base = _on_starter(family_spec(REAL_ARCH, "nb/raw"))
    return [variant_of(base, seed=k) for k in SEEDS[1:]]
