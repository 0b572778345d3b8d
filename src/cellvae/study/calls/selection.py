"""The model choice, made on selection cells over seeds by a paired test; the test set is only reported.

Every run holds out the same selection cells from training and from early stopping
(:func:`~cellvae.study.runner.runs.fit_and_select`).  Architectures are ranked by their mean
selection IWAE over seeds.  Each is compared with the leader by a **paired bootstrap over
seeds and selection cells**: the per-cell IWAE differences at the seeds both share are
resampled, seeds and then cells with replacement, :data:`N_BOOT` times, and the leader wins
only if the two-sided (1 - :data:`ALPHA`) interval of its gain excludes 0.  **Tie rule:** among
the architectures the test cannot tell from the leader, the smallest (fewest weights; for one
hidden layer, fewer hidden units and then fewer latent dimensions) is chosen, and the page
says so.  Test IWAE is read only after the choice, as mean +- s.d. over seeds.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..runner.cache import RunResult

#: Resamples of the paired bootstrap (its interval's ends move by about 0.01 nats between seeds).
N_BOOT = 2000
#: Two-sided error rate of the paired comparison with the leader.
ALPHA = 0.05


def paired_gap(a: list[RunResult], b: list[RunResult], *, n_boot: int = N_BOOT, seed: int = 0) -> tuple:
    """Mean selection IWAE of ``a`` minus ``b`` and its paired-bootstrap interval.

    Parameters
    ----------
    a, b
        Runs of two architectures; those at the training seeds both have are paired (or, with
        no seed in common, the runs in seed order), cell by cell on the shared selection cells.
    n_boot
        Bootstrap resamples (seeds, then cells, with replacement).
    seed
        Seeds the resampling.

    Returns
    -------
    tuple
        ``(gap, low, high, n_seeds)``: nats per cell, the (1 - :data:`ALPHA`) interval, seeds paired.

    Raises
    ------
    ValueError
        If either has no run.
    """
    by_a, by_b = ({r.spec.train.seed: r for r in rs} for rs in (a, b))
    shared = sorted(set(by_a) & set(by_b))
    # the selection cells are the same for every run, so the cells pair even where the seeds do not:
    # then the runs pair in seed order
    pairs = [(by_a[s], by_b[s]) for s in shared] or list(zip(sorted(a, key=_seed), sorted(b, key=_seed)))
    if not pairs:
        raise ValueError("an architecture without runs cannot be compared")
    d = np.array([np.subtract(x.metrics["select_iwae_cells"], y.metrics["select_iwae_cells"]) for x, y in pairs])
    rng = np.random.default_rng(seed)
    n_s, n_c = d.shape
    boot = np.empty(n_boot)
    for lo in range(0, n_boot, 100):  # in chunks: seeds x cells per resample stays small
        k = min(100, n_boot - lo)
        si, ci = rng.integers(n_s, size=(k, n_s)), rng.integers(n_c, size=(k, n_c))
        boot[lo:lo + k] = d[si[:, :, None], ci[:, None, :]].mean(axis=(1, 2))
    low, high = np.quantile(boot, [ALPHA / 2, 1 - ALPHA / 2])
    return float(d.mean()), float(low), float(high), len(pairs)


def _seed(r: RunResult) -> int:
    return r.spec.train.seed


def _size(runs: list[RunResult]) -> tuple[int, int]:
    m = runs[0].spec.model
    return m.n_hidden, m.n_latent


@dataclass
class ModelChoice:
    """Architectures of one family ranked on selection cells, compared by a paired test, one chosen."""

    runs: dict[str, list[RunResult]]  # architecture -> its finished runs over seeds, ranking order
    ranking: pd.DataFrame             # one row per architecture, best mean selection IWAE first
    gauss_best: dict                  # Gaussian family -> (architecture, test IWAE), chosen on selection cells
    chosen: str                       # the leader, or the smallest architecture tied with it

    @property
    def leader(self) -> str:
        """The architecture with the best mean selection IWAE."""
        return str(self.ranking["model"].iloc[0])

    @property
    def best(self) -> RunResult:
        """The chosen architecture's run at its first seed (the one later runs build on)."""
        return self.runs[self.chosen][0]

    @property
    def second(self) -> RunResult:
        """The architecture the choice is compared with: the leader, or the runner-up if the leader is chosen."""
        other = self.leader if self.chosen != self.leader else str(self.ranking["model"].iloc[1])
        return self.runs[other][0]

    def _pair(self) -> pd.Series:
        """The ranking row of the non-leader of the chosen pair (its gap and interval to the leader)."""
        other = self.second.spec.arch if self.chosen == self.leader else self.chosen
        return self.ranking.set_index("model").loc[other]

    @property
    def n_seeds(self) -> int:
        """Seeds the chosen pair's paired test rests on."""
        return int(self._pair()["paired seeds"])

    @property
    def gap(self) -> float:
        """The leader's mean selection IWAE minus the other's in the pair, nats per cell (>= 0)."""
        return float(self._pair()["gap to best"])

    @property
    def interval(self) -> tuple[float, float]:
        """The paired bootstrap's (1 - ALPHA) interval of :attr:`gap`."""
        row = self._pair()
        return float(row["gap low"]), float(row["gap high"])

    @property
    def distinguishable(self) -> bool:
        """The interval of the gap excludes 0."""
        return bool(self.interval[0] > 0)

    @property
    def tie_rule(self) -> bool:
        """The tie rule chose a smaller architecture than the leader."""
        return self.chosen != self.leader

    def verdict(self) -> str:
        """What the paired test says about the chosen pair, and the tie rule when it applied, as a clause.

        Returns
        -------
        str
        """
        lo, hi = self.interval
        test = (f"a paired bootstrap over {self.n_seeds} seed(s) and the selection cells puts the gap's "
                f"{1 - ALPHA:.0%} interval at [{lo:.2f}, {hi:.2f}] nats")
        if self.distinguishable:
            return f"{test}, which excludes 0, so the two are distinguishable"
        tail = (f"; by the tie rule the smaller, {self.chosen}, is chosen" if self.tie_rule else
                f"; {self.chosen} is also the smaller, so the tie rule keeps it")
        return f"{test}, which includes 0, so the two cannot be told apart{tail}"

    def glue(self) -> dict:
        """The choice as strings for the report to glue.

        Returns
        -------
        dict
            ``best_model``, ``best_iwae`` and ``best_sd`` (its test IWAE, mean and s.d. over
            seeds), ``leader``, ``second_model``, ``gap`` (selection cells, nats per cell),
            ``n_seeds`` (``"over K seeds"``), ``gap_verdict``, ``ci`` (the interval's level),
            ``n_boot``, and
            ``best_gauss_pre`` / ``best_gauss_proc`` (test IWAE of each Gaussian family's choice).
        """
        top = self.ranking.set_index("model").loc[self.chosen]
        return {
            "best_model": self.chosen, "best_iwae": f"{top['test IWAE']:.2f}", "best_sd": f"{top['test s.d.']:.2f}",
            "leader": self.leader, "second_model": self.second.spec.arch, "gap": f"{self.gap:.2f}",
            "gap_verdict": self.verdict(), "n_seeds": f"over {self.n_seeds} seeds", "ci": f"{1 - ALPHA:.0%}",
            "n_boot": f"{N_BOOT:,}",
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
    sel = np.array([r.metrics["select_iwae"] for r in runs])
    test = np.array([r.metrics["test_iwae"] for r in runs])
    m = runs[0].spec.model
    return {"model": arch, "latent": m.n_latent, "hidden": m.n_hidden, "seeds": len(runs),
            "select IWAE": sel.mean(), "select s.d.": _sd(sel), "test IWAE": test.mean(), "test s.d.": _sd(test),
            "active units": float(np.mean([r.metrics["active_units"] for r in runs])),
            "converged": f"{sum(r.metrics.get('stopped') == 'early_stopping' for r in runs)} of {len(runs)}"}


def choose_model(results: list[RunResult], *, family: str = "nb/raw") -> ModelChoice:
    """The architecture of ``family`` chosen on selection cells by the paired test and the tie rule.

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
        s.d. over seeds of selection and test IWAE, the gap to the best with its paired
        interval and the seeds paired, mean active units, runs converged), each Gaussian
        family's choice on selection cells, and the chosen architecture.

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
    ranking = ranking.sort_values("select IWAE", ascending=False, kind="stable").reset_index(drop=True)
    lead = by_arch[ranking["model"].iloc[0]]
    pairs = [paired_gap(lead, by_arch[a]) for a in ranking["model"]]
    for i, col in enumerate(("gap to best", "gap low", "gap high", "paired seeds")):
        ranking.insert(6 + i, col, [p[i] for p in pairs])
    tied = [a for a, p in zip(ranking["model"], pairs) if p[1] <= 0]  # the leader's own interval is [0, 0]
    chosen = min(tied, key=lambda a: _size(by_arch[a]))
    gauss = {}
    for fam in ("gaussian/preprocessed", "gaussian/processed"):
        runs = _finished(results, fam)
        if runs:
            r = max(runs, key=lambda r: r.metrics["select_iwae"])
            gauss[fam] = (r.spec.arch, r.metrics["test_iwae"])
    return ModelChoice({a: by_arch[a] for a in ranking["model"]}, ranking, gauss, chosen)


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
