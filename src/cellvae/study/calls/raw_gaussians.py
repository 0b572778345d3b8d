"""The original study's first failure, reproduced: Gaussian decoders on raw counts.

The original trained a Gaussian VAE on raw counts, whose values reach the thousands, and it
diverged.  Runs of the smallest architecture repeat it with both decoders (learned per-gene
variance, and the original's fixed unit variance) under both losses (the summed ELBO, and
the original's average over matrix elements) on raw counts.  The trainer's divergence guard stops a run
whose loss turns non-finite and records its one-line message instead of numbers.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ...data import get_variant
from ...model import VAEConfig
from ..runner.cache import RunResult
from ..runner.grid import ARCHITECTURES, RunSpec, variant_of
from .collapse import is_collapsed

#: The raw-count Gaussian families, decoder x loss: name -> (data variant, likelihood, reduction).
RAW_FAMILIES = {
    "gaussian/raw": ("raw", "gaussian", "sum"),                # learned variance, summed ELBO
    "gaussian-averaged/raw": ("raw", "gaussian", "mean"),      # learned variance, averaged loss
    "fixed-variance/raw": ("raw", "gaussian_fixed", "sum"),    # unit variance, summed ELBO
    "original/raw": ("raw", "gaussian_fixed", "mean"),         # unit variance, averaged: the original's
}


def raw_gaussian_specs(arch: str = "M1") -> list[RunSpec]:
    """The Gaussian-on-raw-counts runs of ``arch`` on the book's budget, with and without clipping.

    Parameters
    ----------
    arch
        An architecture name of :data:`~cellvae.study.runner.grid.ARCHITECTURES`.

    Returns
    -------
    list of RunSpec
        Each family of :data:`RAW_FAMILIES` with the library's gradient clipping, then
        without it (``grad_clip=0``), as a plain training loop would run it.
    """
    lat, hid = ARCHITECTURES[arch]
    specs = [RunSpec(arch=arch, family=f, variant=v,
                     model=VAEConfig(n_latent=lat, n_hidden=hid, likelihood=lik, reduction=red))
             for f, (v, lik, red) in RAW_FAMILIES.items()]
    return specs + [variant_of(s, grad_clip=0.0) for s in specs]


def raw_table(results: list[RunResult]) -> pd.DataFrame:
    """What happened to each raw-count Gaussian run.

    Parameters
    ----------
    results
        Results of :func:`raw_gaussian_specs`.

    Returns
    -------
    pandas.DataFrame
        ``family``, ``model``, ``clipping`` (gradient clipping on), ``outcome`` ("diverged"
        or "trained"), ``test ELBO``,
        ``test KL``, ``active units``, ``epochs`` (NaN where it diverged) and ``message``.
    """
    rows = []
    for r in results:
        m, ok = r.metrics, r.metrics.get("status") == "ok"
        rows.append({"family": r.spec.family, "model": r.spec.arch, "clipping": r.spec.train.grad_clip > 0,
                     "outcome": "trained" if ok else "diverged",
                     **{k: m.get(c, np.nan) for k, c in (("test ELBO", "test_elbo"), ("test KL", "test_kl"),
                                                           ("active units", "active_units"), ("epochs", "epochs"))},
                     "message": "" if ok else m.get("status", "")})
    return pd.DataFrame(rows)


def divergence_verdict(table: pd.DataFrame) -> str:
    """Whether the original's divergence on raw counts is reproduced here, as a clause.

    Parameters
    ----------
    table
        :func:`raw_table` output.

    Returns
    -------
    str
        How many of the Gaussian runs on raw counts diverged, and so whether the original's
        report is reproduced ("reproduced" if any diverged).
    """
    k, n = int((table["outcome"] == "diverged").sum()), len(table)
    if k == 0:
        return f"not reproduced here: none of {n} Gaussian decoders trained on raw counts diverged"
    return f"reproduced here: {k} of {n} Gaussian decoders trained on raw counts diverged"


def gene_gaussian_baseline(adata) -> float:
    """Test log-density of raw counts under independent per-gene Gaussians fitted on train cells.

    The model with no latent space at all: each gene's mean and variance over the training
    cells (variance floored at 1e-6), scored on the test cells.

    Parameters
    ----------
    adata
        Prepared data with ``obs['split']`` and raw counts in ``layers['counts']``.

    Returns
    -------
    float
        Mean over test cells of the summed per-gene log-density, nats per cell.
    """
    x = get_variant(adata, "raw")
    tr = (adata.obs["split"] == "train").to_numpy()
    mu = np.asarray(x[tr].mean(0)).ravel()
    var = np.maximum(np.asarray(x[tr].multiply(x[tr]).mean(0)).ravel() - mu**2, 1e-6)
    xt = x[~tr].toarray().astype(np.float64)
    return float((-0.5 * (np.log(2 * np.pi * var) + (xt - mu) ** 2 / var)).sum(1).mean())


def _runs(n: int) -> str:
    return "1 run" if n == 1 else f"{n} runs"


def _span(x: pd.Series, fmt: str = "{:,.0f}") -> str:
    lo, hi = x.min(), x.max()
    return fmt.format(lo) if lo == hi else f"{fmt.format(lo)} to {fmt.format(hi)}"


def raw_sentence(table: pd.DataFrame, baseline: float) -> str:
    """What the Gaussian decoders on raw counts did, summed up: how many trained, how well, how many collapsed.

    Parameters
    ----------
    table
        :func:`raw_table` output.
    baseline
        :func:`gene_gaussian_baseline` of the same data.

    Returns
    -------
    str
        "better" or "worse" than the no-latent baseline is decided by comparing test ELBO
        (a lower bound) with the baseline's exact log-density; a run collapsed when its test KL
        is under 0.5 nats and it keeps at most one active unit.  Table 3e has each run.
    """
    if table.empty:
        return "No Gaussian decoder was trained on raw counts here."
    ok, bad = table[table["outcome"] != "diverged"], table[table["outcome"] == "diverged"]
    head = (f"On raw counts the per-gene Gaussian with no latent space scores {baseline:,.0f} nats of density per "
            f"test cell. ")
    parts = []
    if len(ok):
        better = int((ok["test ELBO"] > baseline).sum())
        collapsed = sum(is_collapsed(k, a) for k, a in zip(ok["test KL"], ok["active units"]))
        one = len(ok) == 1
        beat = (("above" if better else "not above") if one else "all of them above" if better == len(ok) else
                "none of them above" if better == 0 else f"{better} of them above")
        parts.append(f"{_runs(len(ok))} of {len(table)} trained without diverging, with "
                     f"{'a test ELBO' if one else 'test ELBOs'} of {_span(ok['test ELBO'])} nats of density per cell "
                     f"({beat} that baseline) and {_span(ok['active units'], '{:.0f}')} active units; "
                     + (("it collapsed" if collapsed else "it did not collapse") if one else
                        f"{collapsed} of {len(ok)} collapsed"))
    else:
        parts.append(f"none of the {len(table)} trained without diverging")
    for msg, g in bad.groupby("message", sort=False, dropna=False):
        runs = ", ".join(f"`{f}` {'with' if c else 'without'} clipping" for f, c in zip(g["family"], g["clipping"]))
        why = f", stopped by the trainer with: \"{msg}\"" if isinstance(msg, str) and msg else ""
        parts.append(f"{_runs(len(g))} diverged ({runs}){why}")
    return head + "; ".join(parts) + "."  # each part opens with its count
