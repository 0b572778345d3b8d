"""The chapters' plans: the graph cellvae-grid runs is the one the chapters read."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from cellvae.study.calls.original_study import equivalence_spec
from cellvae.study.calls.plan import Group, Plan, Task, ready_tasks, resolve, round_specs
from cellvae.study.calls.raw_gaussians import raw_gaussian_specs
from cellvae.study.chapters import plans
from cellvae.study.runner import grid
from cellvae.study.runner.starter_grid import real_specs, seed_specs

DATA = SimpleNamespace(n_vars=1_000)
BEST = grid.report_specs()[0]


def _keys(specs) -> set[str]:
    return {s.key("") for s in specs}


def test_each_round_is_what_the_chapters_read_once():
    first = round_specs(plans.PLANS, ("book", False), DATA, None)
    assert _keys(first) == _keys(grid.report_specs() + raw_gaussian_specs() + [equivalence_spec(1_000)])
    assert len(first) == len(_keys(first))  # the main grid is read by four chapters and trained once
    chosen = round_specs(plans.PLANS, ("book", True), DATA, BEST)
    assert _keys(chosen) == _keys(grid.sweep_specs(BEST) + grid.batch_seeds(BEST) + [grid.zinb_of(BEST)])
    assert len(grid.batch_seeds(BEST)) == 2 * len(grid.BATCH_SEEDS)
    assert _keys(round_specs(plans.PLANS, ("starter", False), None, None)) == _keys(real_specs() + seed_specs())


def test_tasks_wait_for_the_rounds_they_need():
    names = lambda done: [t.fn.rsplit(":")[1] for t in ready_tasks(plans.PLANS, done)]  # noqa: E731
    assert names(set()) == []
    assert names({("book", False)}) == ["results_task"]
    assert names({("starter", False)}) == ["starter_task"]
    assert names({("book", False), ("book", True)}) == ["results_task", "findings_task"]


def test_every_named_task_and_main_process_step_exists():
    paths = [t.fn for p in plans.PLANS for t in p.tasks] + [p.last for p in plans.PLANS if p.last]
    assert paths and all(callable(resolve(path)) for path in paths)


def test_load_reads_the_chosen_groups_after_the_choice(monkeypatch):
    seen = []
    monkeypatch.setattr("cellvae.study.calls.plan.run_all", lambda a, specs, **kw: seen.append(specs) or specs)
    monkeypatch.setattr("cellvae.study.calls.plan.choice", lambda adata, results=None: "BEST")
    plan = Plan("t", {"grid": Group(lambda a, b: ["g"]), "after": Group(lambda a, b: [b], chosen=True)})
    assert plan.load(adata=DATA) == {"grid": ["g"], "after": ["BEST"]}
    with pytest.raises(KeyError):
        plan.load("missing", adata=DATA)


def test_a_task_names_a_group_of_its_own_plan():
    for p in plans.PLANS:
        for t in p.tasks:
            assert isinstance(t, Task) and set(t.needs) <= set(p.groups), (p.chapter, t.fn)
