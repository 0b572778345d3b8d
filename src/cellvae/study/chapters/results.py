"""The results chapter's grid task: it fills the chapter's score caches ahead, in the pool."""

from __future__ import annotations

from ..calls.original_study import collapsed_check
from ..calls.selection import choose_model
from ..runner.bookdata import book_data
from ..runner.grid import report_specs
from ..runner.runs import run_all


def results_task() -> None:
    """The results chapter's collapsed-posterior scores, for a pool worker: fills the cache."""
    adata = book_data()
    results = run_all(adata, report_specs(), progress=False, jobs=1)
    collapsed_check(adata, results, choose_model(results, family="nb/raw").best)
