"""Truth recovery on simulated data: what the models learned against what the simulator holds.

The simulator records its per-gene truth in ``var`` (``sim_theta``, ``sim_lfc_<batch>``;
:func:`cellvae.data.simulate_bmmc`).  Three comparisons:

- the NB decoder's gene dispersions (its learned inverse dispersion theta) against the true
  theta, by Spearman correlation over the genes and the median ratio;
- the latent against the lineage pseudotime: the batch table's trajectory conservation of
  the NB latent (the simulator writes the pseudotime as ``GEX_pseudotime_order``);
- the batch-conditional decoder's batch shifts against the injected ones: the test cells'
  latent means decoded under each batch in turn, the log of each gene's mean share centred
  over the batches, correlated (Pearson, over genes) with the injected log-fold-changes
  centred the same way, and averaged over batches.

None of these is a finding about cells: each checks the method where the truth is known.
"""

from __future__ import annotations

import anndata as ad
import numpy as np
import pandas as pd
import torch

from ...model import load_checkpoint
from ..runner.cache import RunCache, RunResult, data_key


def _module(adata: ad.AnnData, run: RunResult):
    return load_checkpoint(RunCache().root / f"{run.spec.key(data_key(adata))}.pt")[0]


def has_truth(adata: ad.AnnData) -> bool:
    """Whether ``adata`` carries the simulator's per-gene truth.

    Parameters
    ----------
    adata
        Prepared data.

    Returns
    -------
    bool
    """
    return "simulation" in adata.uns and "sim_theta" in adata.var


def dispersion_recovery(adata: ad.AnnData, run: RunResult) -> dict:
    """The NB decoder's learned theta against the true one, per gene.

    Parameters
    ----------
    adata
        Simulated, prepared data the run was trained on.
    run
        A finished NB run whose weights are in the run cache.

    Returns
    -------
    dict
        ``rho`` (Spearman over genes), ``median ratio`` (learned / true) and ``genes``.
    """
    from scipy.stats import spearmanr

    learned = _module(adata, run).px_log_theta.detach().exp().numpy()
    true = adata.var["sim_theta"].to_numpy(float)
    return {"rho": float(spearmanr(learned, true).statistic), "median ratio": float(np.median(learned / true)),
            "genes": int(len(true))}


def batch_shift_recovery(adata: ad.AnnData, run: RunResult) -> dict:
    """The conditional decoder's batch shifts against the injected log-fold-changes.

    Parameters
    ----------
    adata
        Simulated, prepared data the run was trained on.
    run
        The finished batch-conditional NB run.

    Returns
    -------
    dict
        ``r`` (Pearson over genes, averaged over batches) and ``batches``.
    """
    module = _module(adata, run)
    names = pd.Categorical(adata.obs["batch"].astype(str)).categories  # the runner's batch codes
    test = (adata.obs["split"] == "test").to_numpy()
    z = torch.as_tensor(run.latent[test], dtype=torch.float32)
    lib = torch.ones(len(z), 1)
    with torch.no_grad():
        shares = np.stack([np.log(module.generative(z, lib, torch.full((len(z),), b))["mu"].mean(0).numpy())
                           for b in range(len(names))])
    learned = shares - shares.mean(axis=0)
    true = np.stack([adata.var[f"sim_lfc_{b}"].to_numpy(float) for b in names])
    true = true - true.mean(axis=0)
    r = [np.corrcoef(learned[i], true[i])[0, 1] for i in range(len(names)) if true[i].std() > 0]
    return {"r": float(np.mean(r)) if r else float("nan"), "batches": len(r)}


def truth_table(adata: ad.AnnData, nb: RunResult, cond: RunResult, trajectory: float) -> pd.DataFrame:
    """The three comparisons of the module docstring, one row each.

    Parameters
    ----------
    adata
        Simulated, prepared data.
    nb, cond
        The chosen plain and batch-conditional NB runs.
    trajectory
        The batch table's trajectory conservation of the NB latent.

    Returns
    -------
    pandas.DataFrame
        ``learned``, ``truth``, ``statistic``, ``value``.
    """
    d, b = dispersion_recovery(adata, nb), batch_shift_recovery(adata, cond)
    rows = [("gene dispersions (NB theta)", "the simulator's theta per gene", f"Spearman rho over {d['genes']} genes",
             d["rho"]),
            ("", "", "median learned / true theta", d["median ratio"]),
            ("latent (NB)", "the lineage pseudotime", "trajectory conservation, (rho + 1) / 2", trajectory),
            ("batch shifts (NB +batch decoder)", "the injected log-fold-changes",
             f"Pearson r over genes, mean of {b['batches']} batches", b["r"])]
    return pd.DataFrame(rows, columns=["learned", "truth", "statistic", "value"])


#: Words for a correlation's size, by its upper bounds (Cohen-like conventions, stated on the page).
AGREEMENT = ((0.2, "no"), (0.5, "weak"), (0.8, "moderate"), (1.01, "strong"))


def agreement(r: float) -> str:
    """``"no"``, ``"weak"``, ``"moderate"`` or ``"strong"`` agreement for a correlation ``r``.

    Parameters
    ----------
    r
        A correlation in [-1, 1]; a negative one counts as no agreement.

    Returns
    -------
    str
    """
    if not np.isfinite(r):
        return "unmeasured"
    return next(word for bound, word in AGREEMENT if max(r, 0.0) < bound)


def truth_sentence(table: pd.DataFrame) -> str:
    """The truth-recovery numbers in words, each judged by :func:`agreement`, as a check of the method.

    Parameters
    ----------
    table
        :func:`truth_table` output.

    Returns
    -------
    str
    """
    v = table["value"].to_numpy()
    rho_t = 2 * v[2] - 1  # trajectory conservation is (rho + 1) / 2
    return (f"Where the truth is known: the NB decoder's gene dispersions show {agreement(v[0])} agreement with "
            f"the simulator's (Spearman rho {v[0]:.2f}; the learned theta is {v[1]:.2f} times the true one in the "
            f"median, so the decoder reads {'more' if v[1] < 1 else 'less'} overdispersion than the simulator put "
            f"in{', absorbing what its latent does not explain' if v[1] < 1 else ''}); the NB latent shows {agreement(rho_t)} agreement with the lineage pseudotime "
            f"(trajectory conservation {v[2]:.2f}, rho {rho_t:.2f}); and the conditional decoder's batch shifts show "
            f"{agreement(v[3])} agreement with the injected ones (r = {v[3]:.2f}). Agreement is called none below "
            "0.2, weak below 0.5, moderate below 0.8 and strong above. These check the method; they are not findings "
            "about cells.")
