"""What each chapter reads, declared once: its runs (by data and model choice) and the scores the grid fills ahead.

A chapter module defines one :class:`Plan`.  ``cellvae-grid``
(:func:`cellvae.study.book.cli.book_grid`) reads every plan to decide what to train, in which
round and beside what; the chapter reads the same plan with :meth:`Plan.load`, so the two can
never disagree about which runs a page shows.  Runs fall in rounds by their data and by whether
they depend on the model choice (:func:`choice`); a :class:`Task` names the groups it needs and
is queued in the grid's pool as soon as they are ready.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import anndata as ad

from ..runner import bookdata, grid
from ..runner.cache import RunResult
from ..runner.grid import RunSpec
from ..runner.runs import run_all
from .selection import choose_model

#: The data a group of runs is trained on, by name: the book's data and the shipped real starter.
#: Looked up when called, so a test may replace :func:`~cellvae.study.runner.bookdata.book_data`.
DATA: dict[str, Callable[[], ad.AnnData]] = {"book": lambda: bookdata.book_data(),
                                              "starter": lambda: bookdata.starter_data()}
#: The family the model choice is made in (on validation, over seeds: :func:`choose_model`).
CHOSEN_FAMILY = "nb/raw"


@dataclass(frozen=True)
class Group:
    """A named set of runs on one data set.

    ``specs(adata, best)`` lists them; ``best`` is the chosen spec when ``chosen`` is set (a
    follow-up of the model choice), else None.
    """

    specs: Callable[[ad.AnnData, RunSpec | None], list[RunSpec]]
    data: str = "book"
    chosen: bool = False

    @property
    def round(self) -> tuple[str, bool]:
        """The grid's round: runs on the same data, before or after the choice, train together."""
        return self.data, self.chosen


@dataclass(frozen=True)
class Task:
    """Scores a chapter reads, computed ahead in a pool worker once ``needs`` (group names) are trained.

    ``fn`` is an import path, ``"package.module:function"``, of a function without arguments.
    """

    fn: str
    needs: tuple[str, ...]


def resolve(path: str) -> Callable:
    """The function at an import path ``"package.module:function"``.

    Parameters
    ----------
    path
        A :attr:`Task.fn` or :attr:`Plan.last`.

    Returns
    -------
    callable
    """
    module, name = path.split(":")
    return getattr(importlib.import_module(module), name)


def run_task(path: str) -> None:
    """Run a :class:`Task`'s function: what a pool worker is sent (an import path pickles).

    Parameters
    ----------
    path
        :attr:`Task.fn`.
    """
    resolve(path)()


@dataclass(frozen=True)
class Plan:
    """One chapter's runs and score tasks; see the module docstring."""

    chapter: str
    groups: Mapping[str, Group]
    tasks: tuple[Task, ...] = ()
    #: Work of the main process beside the follow-ups: ``beside(adata, best, executor, threads)``
    #: returns futures (the batch chapter's SCVI and calibrated nulls).
    beside: Callable | None = None
    #: Work of the main process after every run, by import path: ``last(adata, results, executor=)``.
    last: str | None = None

    def load(self, *names: str, adata: ad.AnnData | None = None,
             data: Mapping[str, ad.AnnData] | None = None) -> dict[str, list[RunResult]]:
        """This chapter's runs from the cache (trained here if missing), by group name.

        Parameters
        ----------
        *names
            Groups to load; none loads every group.
        adata
            The book's data, if the caller has it already; same as ``data={"book": adata}``.
        data
            Data the caller has already, by :data:`DATA` name; the rest is read with :data:`DATA`.

        Returns
        -------
        dict
            Group name -> its :class:`~cellvae.study.runner.cache.RunResult` list, in spec order.
        """
        data = {**(data or {}), **({"book": adata} if adata is not None else {})}

        def read(name: str) -> ad.AnnData:  # what the caller did not pass, read once
            if name not in data:
                data[name] = DATA[name]()
            return data[name]

        out, best = {}, None
        for name in names or tuple(self.groups):
            g = self.groups[name]
            a = read(g.data)
            if g.chosen and best is None:
                best = choice(read("book"), out.get("grid"))
            out[name] = run_all(a, g.specs(a, best if g.chosen else None), progress=False)
        return out


def choice(adata: ad.AnnData, results: list[RunResult] | None = None) -> RunSpec:
    """The chosen model's spec: best mean validation IWAE over seeds in :data:`CHOSEN_FAMILY`.

    Parameters
    ----------
    adata
        The book's data.
    results
        The :func:`~cellvae.study.runner.grid.report_specs` runs on it, if loaded already.

    Returns
    -------
    RunSpec
        The seed-0 run of the chosen architecture; every follow-up group is built from it.
    """
    if results is None:
        results = run_all(adata, grid.report_specs(), progress=False)
    return choose_model(results, family=CHOSEN_FAMILY).best.spec


def round_specs(plans, round_: tuple[str, bool], adata: ad.AnnData, best: RunSpec | None) -> list[RunSpec]:
    """Every spec of one round over ``plans``, each once, in first-seen order.

    Parameters
    ----------
    plans
        The chapters' :class:`Plan` objects.
    round_
        ``(data name, chosen)``, a :attr:`Group.round`.
    adata, best
        That round's data, and the chosen spec (None before the choice).

    Returns
    -------
    list of RunSpec
        Duplicates across chapters (the main grid, read by four) dropped.
    """
    seen: dict[str, RunSpec] = {}
    for p in plans:
        for g in p.groups.values():
            if g.round == round_:
                for s in g.specs(adata, best):
                    seen.setdefault(s.key(""), s)
    return list(seen.values())


def ready_tasks(plans, done: set[tuple[str, bool]]) -> list[Task]:
    """The tasks whose groups all fall in finished rounds.

    Parameters
    ----------
    plans
        The chapters' :class:`Plan` objects.
    done
        Finished rounds (:attr:`Group.round` values).

    Returns
    -------
    list of Task
        In plan order.
    """
    return [t for p in plans for t in p.tasks if all(p.groups[n].round in done for n in t.needs)]
