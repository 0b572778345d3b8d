"""What a run costs on this machine: a few timed minibatches, for the grid's projection and its ETA.

A run's cost is its epochs times the seconds of one epoch, plus the held-out IWAE.  The
seconds are measured here, on the data given, with the run's own model and minibatch at
:data:`~cellvae.study.runner.grid.RUN_THREADS` (:func:`probe`).  The epochs are not known
before a run stops, so :func:`epoch_range` brackets them from the book's own runs at
:data:`REFERENCE_CELLS`: between as many epochs as there and as many Adam steps (on more
cells each epoch is more steps, and early stopping comes no later in epochs; on fewer, as the
starter's 600, no sooner in steps), never fewer than the KL warm-up plus the patience.  The projection is that range; the ETA
printed during a build rescales it by the runs it has timed (:class:`Eta`).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field, replace

import anndata as ad
import numpy as np

from ...data import get_variant
from ...model import VAE, iwae, train
from .grid import RUN_THREADS, RunSpec
from .pool import torch_threads

#: Cells of the book's default data, where :data:`REFERENCE_EPOCHS` were measured.
REFERENCE_CELLS = 3000
#: Median epochs to early stopping per family on the default data (3,000 cells, 1,000 HVGs), from
#: the cold build of 2026-12-07 at cefdc8d (``benchmarks/cold_build.sh``): the upper end of a run's epochs.
REFERENCE_EPOCHS = {"nb/raw": 64, "zinb/raw": 67, "gaussian/processed": 197, "gaussian/preprocessed": 57,
                    "original": 73}
#: Any other family (the original objective's ablations, the raw-count Gaussians): their median there.
DEFAULT_EPOCHS = 90
#: Minibatches timed per probe, after one untimed warm-up epoch of two minibatches.
PROBE_STEPS = 8
#: Cells whose IWAE is timed per probe.
PROBE_CELLS = 256


@dataclass(frozen=True)
class Cost:
    """One run's measured unit costs and projected seconds on this machine."""

    epoch_seconds: float     # one epoch over the fitted cells (training and early stopping's validation)
    eval_seconds: float      # the held-out IWAE of the selection, validation and test cells
    epochs: tuple[int, int]  # the projected range of epochs (see :func:`epoch_range`)

    @property
    def seconds(self) -> tuple[float, float]:
        """The run's projected wall time, low and high."""
        return tuple(e * self.epoch_seconds + self.eval_seconds for e in self.epochs)

    @property
    def middle(self) -> float:
        """The run's projected training seconds at the geometric middle of its epoch range."""
        return math.sqrt(self.epochs[0] * self.epochs[1]) * self.epoch_seconds


def fitted_cells(adata: ad.AnnData) -> int:
    """Cells a run fits on: the training split less the selection cells.

    Parameters
    ----------
    adata
        Prepared data with ``obs['split']``.

    Returns
    -------
    int
    """
    from .runs import fit_and_select  # here: the runner's progress lines import this module

    return int(fit_and_select(adata)[0].sum())


def epoch_range(spec: RunSpec, n_cells: int) -> tuple[int, int]:
    """The range of epochs ``spec`` is projected to take on ``n_cells`` cells.

    Parameters
    ----------
    spec
        The run.
    n_cells
        Cells of its data.

    Returns
    -------
    tuple of int
        (low, high): the family's :data:`REFERENCE_EPOCHS` and the epochs that keep the number
        of Adam steps it took at :data:`REFERENCE_CELLS`, the smaller first (on fewer cells, as
        the starter's, the steps bound it from above); both at least the warm-up plus the
        patience and at most ``max_epochs``.
    """
    t = spec.train
    floor = min(t.max_epochs, t.kl_warmup_epochs + t.patience)
    epochs = REFERENCE_EPOCHS.get(spec.family, DEFAULT_EPOCHS)
    steps = math.ceil(epochs * REFERENCE_CELLS / max(n_cells, 1))  # as many Adam steps
    return tuple(max(floor, min(t.max_epochs, e)) for e in sorted((epochs, steps)))


def probe(adata: ad.AnnData, spec: RunSpec) -> Cost:
    """Time a few minibatches and an IWAE of ``spec`` on ``adata``, as a run would on this machine.

    Parameters
    ----------
    adata
        Prepared data with ``obs['split']`` and ``obs['batch']``.
    spec
        The run to time (the weights are thrown away; nothing is cached).

    Returns
    -------
    Cost
    """
    x = get_variant(adata, spec.variant)
    bs = spec.train.batch_size
    b = np.zeros(adata.n_obs, np.int64) if spec.conditional else None  # one batch code costs the same
    n_batch = max(1, adata.obs["batch"].nunique()) if spec.conditional else 0
    cfg = replace(spec.train, max_epochs=1, progress=False, validation_fraction=0.0, patience=0)
    fit = fitted_cells(adata)
    with torch_threads(RUN_THREADS):
        module = VAE(replace(spec.model, n_input=adata.n_vars, n_batch=n_batch, encode_batch=spec.conditional))
        n = min(adata.n_obs, PROBE_STEPS * bs)
        train(module, x[:2 * bs], batch=None if b is None else b[:2 * bs], config=cfg)  # warm-up
        t0 = time.perf_counter()
        train(module, x[:n], batch=None if b is None else b[:n], config=cfg)
        step = (time.perf_counter() - t0) / math.ceil(n / bs)
        m = min(adata.n_obs, PROBE_CELLS)
        t0 = time.perf_counter()
        iwae(module, x[:m], batch=None if b is None else b[:m], k=spec.iwae_k)
        per_cell = (time.perf_counter() - t0) / m
    held = adata.n_obs - fit + fit * spec.train.validation_fraction  # selection, test and validation cells
    return Cost(epoch_seconds=step * math.ceil(fit / bs), eval_seconds=per_cell * held,
                epochs=epoch_range(spec, adata.n_obs))


def shape_of(spec: RunSpec) -> tuple:
    """What a run's step time depends on: two runs of one shape cost the same per epoch.

    The data variant is left out: every variant is a sparse matrix of the same cells and genes,
    densified per minibatch alike.

    Parameters
    ----------
    spec
        A run.

    Returns
    -------
    tuple
    """
    m = spec.model
    return m.likelihood, m.n_latent, m.n_hidden, m.n_layers, spec.conditional, spec.train.batch_size


def costs(adata: ad.AnnData, specs: list[RunSpec]) -> list[Cost]:
    """:func:`probe` once per :func:`shape_of`, with each run's own epoch range.

    Parameters
    ----------
    adata
        Prepared data.
    specs
        The runs.

    Returns
    -------
    list of Cost
        One per spec.
    """
    seen: dict[tuple, Cost] = {}
    for s in specs:
        if shape_of(s) not in seen:
            seen[shape_of(s)] = probe(adata, s)
    return [replace(seen[shape_of(s)], epochs=epoch_range(s, adata.n_obs)) for s in specs]


#: :attr:`Eta.todo`'s label for runs projected under a stand-in label (see :meth:`Eta.of`).
ANY = "*"


def slot(label: str, cells: int | None) -> tuple[str, int | None]:
    """:attr:`Eta.todo`'s key of a run: its label on data of so many cells.

    Parameters
    ----------
    label
        A run's label (or :data:`ANY`).
    cells
        Its data's cells; None when runs are not told apart by data.

    Returns
    -------
    tuple
    """
    return label, cells


@dataclass
class Eta:
    """Remaining time of a build: the projection of what is left, rescaled by what has been timed.

    ``todo`` maps a run's label and its data's cells (:func:`slot`) to the projected (training,
    evaluation) seconds of each such run still to come: one label names runs on several data sets.  :meth:`done`
    records a finished run's measured training seconds; :meth:`scale_of` is measured over
    projected training time so far on each data set, and :meth:`remaining` divides by the
    processes that train at once and adds the runs that print no line (``later``, by name) and
    the work that is not a run (``then``).
    """

    todo: dict[tuple, list[tuple[float, float]]]
    jobs: int = 1
    then: float = 0.0                                      # projected seconds of scoring
    later: dict[str, float] = field(default_factory=dict)  # named work, cleared by finish()
    timed: list[tuple] = field(default_factory=list)       # (projected, measured, cells) training

    @classmethod
    def of(cls, specs: list[RunSpec], runs: list[Cost], *, cells: list[int] | None = None,
           any_label: frozenset = frozenset(), **kw) -> Eta:
        """An ETA over ``specs`` with their :class:`Cost`.

        Parameters
        ----------
        specs, runs
            The runs still to train, and their costs.
        cells
            Each run's data's cells (None: not told apart by data).
        any_label
            Labels of projected runs whose real labels are not known yet (the follow-ups of a
            model choice not yet made): any finished run that matches no label takes their place.
        **kw
            ``jobs`` and ``then``.

        Returns
        -------
        Eta
            Each run's training projected at the geometric middle of its epoch range.
        """
        todo: dict[tuple, list[tuple[float, float]]] = {}
        for s, c, n in zip(specs, runs, cells or [None] * len(specs)):
            todo.setdefault(slot(ANY if s.label in any_label else s.label, n), []).append((c.middle, c.eval_seconds))
        return cls(todo, **kw)

    def finish(self, name: str) -> None:
        """Clear a named part of :attr:`later` (runs that print no line: the nulls' VAEs, SCVI).

        Parameters
        ----------
        name
            Its key; an unknown one is ignored.
        """
        self.later.pop(name, None)

    def done(self, label: str, seconds: float | None, *, cells: int | None = None) -> None:
        """Record a finished run.

        Parameters
        ----------
        label
            Its :attr:`~cellvae.study.runner.grid.RunSpec.label`; one it never projected is ignored.
        seconds
            Its training time; None for a run read from the cache.
        cells
            Its data's cells, as given to :meth:`of`.
        """
        left = self.todo.get(slot(label, cells)) or self.todo.get(slot(ANY, cells))
        if not left:
            return
        projected, _ = left.pop(0)
        if seconds is not None and projected > 0:
            self.timed.append((projected, seconds, cells))

    def scale_of(self, cells: int | None) -> float:
        """Measured over projected training seconds of the runs timed on data of ``cells`` cells.

        Each data set has its own: a probe misses more of a small data set's epoch (its fixed
        costs weigh more), so the starter's ratio says nothing of the book's runs.

        Parameters
        ----------
        cells
            As given to :meth:`of` (None: runs not told apart by data).

        Returns
        -------
        float
            1 before any run on that data is timed.
        """
        mine = [(a, b) for a, b, n in self.timed if n == cells]
        p = sum(a for a, _ in mine)
        return sum(b for _, b in mine) / p if p > 0 else 1.0

    @property
    def scale(self) -> float:
        """:meth:`scale_of` the largest data timed so far (1 before any): the rate of work that prints no line."""
        sizes = [n for *_, n in self.timed]
        return self.scale_of(max(sizes, key=lambda n: -1 if n is None else n)) if sizes else 1.0

    def remaining(self) -> float:
        """Projected wall seconds left: the runs left, each data's rescaled, over ``jobs``, then the rest.

        Returns
        -------
        float
        """
        runs = sum(t * self.scale_of(cells) + e for (_, cells), left in self.todo.items() for t, e in left)
        return (runs + sum(self.later.values()) * self.scale) / max(self.jobs, 1) + self.then
