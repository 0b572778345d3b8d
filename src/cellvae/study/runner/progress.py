"""The line the grid prints for each run: kept apart from the runner, so editing it keeps the run cache."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # a type only: the runner imports this module, not the other way
    from .cache import RunResult


def describe(res: RunResult) -> str:
    """One line on a finished run, for the grid's log.

    Parameters
    ----------
    res
        A finished or cached run.

    Returns
    -------
    str
        Its label, how it stopped, its held-out ELBO and its time (or "cached").
    """
    m = res.metrics
    if m.get("status") != "ok":
        return f"{res.spec.label}: {m.get('status')}"
    how = "cached" if res.cached else f"{m['seconds']:.0f} s"
    return (f"{res.spec.label}: {m['epochs']} epochs ({m['stopped']}), held-out ELBO "
            f"{m['test_elbo']:.1f} nats/cell, {how}")
