"""The model choice, made on validation cells over seeds; the test set is only reported.

Each architecture's runs at several training seeds are ranked by their mean validation IWAE
(the validation cells are the training split's early-stopping cells, never test cells).  Test
IWAE is read only after the choice, as mean +- s.d. over seeds.  Whether the winner can be
told apart from the runner-up is judged against the seed-to-seed spread.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..runner.cache import RunResult


@dataclass
class ModelChoice:
    """Architectures of one family ranked on validation, with their runs over seeds."""

    runs: dict[str, list[RunResult]]  # architecture -> its finished runs over seeds, chosen first
    ranking: pd.DataFrame             # one row per architecture, best mean validation IWAE first
    gauss_best: dict                  # Gaussian family -> (architecture, test IWAE), chosen on validation

    @property
    def best(self) -> RunResult:
        """The chosen architecture's run at its first seed (the one later runs build on)."""
        return self.runs[self.ranking["model"].iloc[0]][0]

    @property
    def second(self) -> RunResult:
        """The runner-up architecture's run at its first seed."""
        return self.runs[self.ranking["model"].iloc[1]][0]

    @property
    def n_seeds(self) -> int:
        """Seeds behind the comparison of the two best (the smaller count of the two)."""
        return int(self.ranking["seeds"].iloc[:2].min())

    @property
    def gap(self) -> float:
        """Mean validation IWAE of the best minus the runner-up's, nats per cell (>= 0)."""
        return float(self.ranking["val IWAE"].iloc[0] - self.ranking["val IWAE"].iloc[1])

    @property
    def spread(self) -> float:
        """The larger seed-to-seed s.d. of validation IWAE of the two (NaN with one seed)."""
        return float(self.ranking["val s.d."].iloc[:2].max()) if self.n_seeds > 1 else float("nan")

    @property
    def distinguishable(self) -> bool:
        """The gap exceeds the seed-to-seed spread (never with a single seed)."""
        return bool(self.gap > self.spread)

    def verdict(self) -> str:
        """Whether the winner is distinguishable from the runner-up, as a clause.

        Returns
        -------
        str
        """
        if self.n_seeds < 2:
            return "with one seed the seed-to-seed spread is unknown, so the gap cannot be judged"
        if self.distinguishable:
            return (f"the gap exceeds the seed-to-seed spread ({self.spread:.2f} nats), so the two are "
                    "distinguishable")
        return (f"the gap is within the seed-to-seed spread ({self.spread:.2f} nats), so the two are not "
                "distinguishable")

    def glue(self) -> dict:
        """The choice as strings for the report to glue.

        Returns
        -------
        dict
            ``best_model``, ``best_iwae`` and ``best_sd`` (its test IWAE, mean and s.d. over
            seeds), ``second_model``, ``gap`` and ``spread`` (validation, nats per cell),
            ``n_seeds`` (``"over K seeds"``), ``gap_verdict`` and ``best_gauss_pre`` /
            ``best_gauss_proc`` (test IWAE of each Gaussian family's validation choice).
        """
        top = self.ranking.iloc[0]
        return {
            "best_model": str(top["model"]), "best_iwae": f"{top['test IWAE']:.2f}",
            "best_sd": f"{top['test s.d.']:.2f}", "second_model": str(self.ranking["model"].iloc[1]),
            "gap": f"{self.gap:.2f}", "spread": f"{self.spread:.2f}", "gap_verdict": self.verdict(),
            "n_seeds": f"over {self.n_seeds} seeds",
            "best_gauss_pre": _fmt(self.gauss_best.get("gaussian/preprocessed")),
            "best_gauss_proc": _fmt(self.gauss_best.get("gaussian/processed")),
        }


def _fmt(v) -> str:
    return "n/a" if v is None else f"{v[1]:.1f} ({v[0]})"


def _finished(results: list[RunResult], family: str) -> list[RunResult]:
    return [r for r in results if r.spec.family == family and not r.spec.conditional
            and r.spec.model.beta == 1.0 and r.metrics.get("status") == "ok"]


def _sd(v: np.ndarray) -> float:
    return float(v.std(ddof=1)) if len(v) > 1 else np.nan


def _row(arch: str, runs: list[RunResult]) -> dict:
    val = np.array([r.metrics["val_iwae"] for r in runs])
    test = np.array([r.metrics["test_iwae"] for r in runs])
    m = runs[0].spec.model
    return {"model": arch, "latent": m.n_latent, "hidden": m.n_hidden, "seeds": len(runs),
            "val IWAE": val.mean(), "val s.d.": _sd(val), "test IWAE": test.mean(), "test s.d.": _sd(test),
            "active units": float(np.mean([r.metrics["active_units"] for r in runs])),
            "converged": f"{sum(r.metrics.get('stopped') == 'early_stopping' for r in runs)} of {len(runs)}"}


def choose_model(results: list[RunResult], *, family: str = "nb/raw") -> ModelChoice:
    """The architecture of ``family`` with the best mean validation IWAE over its seeds.

    Parameters
    ----------
    results
        Results from :func:`~cellvae.study.runner.runs.run_all`; finished (``status == "ok"``),
        unconditional beta = 1 runs compete, grouped by architecture over their seeds.
    family
        The model family to choose within.

    Returns
    -------
    ModelChoice
        The runs of each architecture (seed order), a ranking table (best first: mean and
        s.d. over seeds of validation and test IWAE, the validation gap to the best, mean
        active units, runs converged) and each Gaussian family's validation choice.

    Raises
    ------
    ValueError
        If fewer than two architectures of ``family`` have a finished run.
    """
    by_arch: dict[str, list[RunResult]] = {}
    for r in sorted(_finished(results, family), key=lambda r: r.spec.train.seed):
        by_arch.setdefault(r.spec.arch, []).append(r)
    if len(by_arch) < 2:
        raise ValueError(f"need finished '{family}' runs of at least two architectures to choose a model")
    ranking = pd.DataFrame([_row(a, rs) for a, rs in by_arch.items()])
    ranking = ranking.sort_values("val IWAE", ascending=False, kind="stable").reset_index(drop=True)
    ranking.insert(6, "gap to best", ranking["val IWAE"].iloc[0] - ranking["val IWAE"])
    gauss = {}
    for fam in ("gaussian/preprocessed", "gaussian/processed"):
        runs = _finished(results, fam)
        if runs:
            r = max(runs, key=lambda r: r.metrics["val_iwae"])
            gauss[fam] = (r.spec.arch, r.metrics["test_iwae"])
    return ModelChoice({a: by_arch[a] for a in ranking["model"]}, ranking, gauss)


def converged_sentence(table: pd.DataFrame, *, max_epochs: int) -> str:
    """``N of M runs converged``: early stopping, not the epoch cap, ended N of the M runs.

    Parameters
    ----------
    table
        :func:`~cellvae.study.runner.tables.results_table` of the runs; diverged runs count as not
        converged.
    max_epochs
        The epoch cap of their training rule.

    Returns
    -------
    str
    """
    n, done = len(table), int((table["stopped"] == "early_stopping").sum())
    capped = int((table["stopped"] == "max_epochs").sum())
    diverged = n - done - capped
    tail = f"; the {max_epochs}-epoch cap ended {capped}" if capped else f", none at the {max_epochs}-epoch cap"
    tail += f" and {diverged} diverged" if diverged else ""
    return f"{done} of {n} runs converged (early stopping ended them){tail}"
