"""The line the grid prints for each run: kept apart from the runner, so editing it keeps the run cache."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # a type only: the runner imports this module, not the other way
    from .cache import RunResult

#: The build's :class:`~cellvae.study.runner.estimate.Eta` while ``cellvae-grid`` runs
#: (:func:`track`); None leaves the lines without one.  Not imported here: estimate reads the runner.
_ETA = None


def track(eta) -> None:
    """Append ``eta``'s remaining time to every run's line from now on (None stops).

    Parameters
    ----------
    eta : Eta or None
        The build's projection (:class:`~cellvae.study.runner.estimate.Eta`).
    """
    global _ETA
    _ETA = eta


def finish(name: str) -> None:
    """Tell the tracked ETA that its named work is done (:meth:`~cellvae.study.runner.estimate.Eta.finish`).

    Parameters
    ----------
    name
        E.g. ``"controls"``.
    """
    if _ETA is not None:
        _ETA.finish(name)


def eta_text() -> str:
    """``"; about N min left"`` from the tracked ETA, or ``""`` when none is tracked.

    Returns
    -------
    str
    """
    if _ETA is None:
        return ""
    left = _ETA.remaining()
    return f"; about {left / 60:.0f} min left" if left >= 60 else "; under a minute left"


def describe(res: RunResult) -> str:
    """One line on a finished run, for the grid's log.

    Parameters
    ----------
    res
        A finished or cached run.

    Returns
    -------
    str
        Its label, how it stopped, its held-out ELBO and its time (or "cached"), and while a
        build is tracked (:func:`track`) the time it has left.
    """
    m = res.metrics
    if _ETA is not None:
        _ETA.done(res.spec.label, None if res.cached else m.get("seconds"),
                  cells=None if res.latent is None else len(res.latent))
    if m.get("status") != "ok":
        return f"{res.spec.label}: {m.get('status')}{eta_text()}"
    how = "cached" if res.cached else f"{m['seconds']:.0f} s"
    return (f"{res.spec.label}: {m['epochs']} epochs ({m['stopped']}), held-out ELBO "
            f"{m['test_elbo']:.1f} nats/cell, {how}{eta_text()}")
