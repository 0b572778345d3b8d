"""The experiment grid: what each run is, and the report's own training budget.

A :class:`RunSpec` holds a :class:`~cellvae.model.VAEConfig` and a
:class:`~cellvae.model.TrainConfig` rather than copies of their fields, so every
library default is defined once, in the config dataclasses.  The few values that
only the report uses (its epoch budget, its IWAE sample count) are defined here,
once, with the reason for each.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, fields, replace

from ..._version import __version__
from ...model import TrainConfig, VAEConfig

#: The book's training rule: every run trains until early stopping on the validation loss (the
#: negative ELBO for the beta = 1, summed-loss runs that are compared).  A patience of 10 epochs
#: is ~220 Adam steps on the default data, several times the epoch-to-epoch noise of the
#: validation ELBO; the 300-epoch cap is about twice the longest converged run, so it is rarely
#: what stops one (the results chapter counts how often it does).  The learning rate is 3e-3,
#: not Adam's usual 1e-3: the per-gene variance and dispersion parameters start at 1 and move
#: about one learning rate per step, so at 1e-3 the Gaussian runs needed ~400 epochs to stop.
#: A resume snapshot is written every 20 epochs, not after each: an epoch here takes 0.1-0.5 s,
#: and a snapshot after each one (weights, Adam's state and the best weights, 8-35 MB, fsynced)
#: made runs 1.4-1.7x slower.  An interrupted run redoes at most 20 epochs, a few seconds.
BOOK_TRAIN = TrainConfig(max_epochs=300, kl_warmup_epochs=10, patience=10, batch_size=128, lr=3e-3,
                         split_seed=0, progress=False, checkpoint_every=20)
#: Training seeds of the architecture comparison: the choice is made on the mean validation
#: IWAE over these, and test IWAE is reported as mean +- s.d. over them.  A seed sets the
#: initial weights and the minibatch order; the validation cells stay the same (``split_seed``),
#: so the seed-to-seed spread measures training, not a resampling of the validation cells.
SEEDS = (0, 1, 2)
#: Torch threads of every run.  One: at the book's shapes (minibatches of 128 x 1,000) a second
#: thread barely speeds a step and makes it erratic on a busy machine, so runs go in parallel
#: over processes instead (:func:`cellvae.study.runner.runs.run_all`), and a run's numbers (which depend
#: on the thread count through the order of float sums) are the same however the grid is run.
RUN_THREADS = 1
#: Importance samples for the held-out IWAE bound: 20 tightens the bound by most of what 50
#: would, at 40% of the evaluation time.
BOOK_IWAE_K = 20

#: KL weights of the results chapter's beta sweep: a factor 4 apart, from below the ELBO's 1 to
#: where the posterior collapses.
BETAS = (0.25, 1.0, 4.0, 16.0, 64.0)

#: The original study's architectures: name -> (latent, hidden).
ARCHITECTURES = {"M1": (10, 256), "M2": (50, 256), "M3": (100, 256), "M4": (50, 512), "M5": (50, 1024)}
#: What each model family is trained on: name -> (data variant, likelihood, reduction).
FAMILIES = {
    "gaussian/preprocessed": ("preprocessed", "gaussian", "sum"),
    "gaussian/processed": ("processed", "gaussian", "sum"),
    "nb/raw": ("raw", "nb", "sum"),
    "zinb/raw": ("raw", "zinb", "sum"),  # the chosen architecture only: the zero-inflation check
    # The original study's objective: fixed unit variance, loss averaged over matrix elements.
    "original": ("processed", "gaussian_fixed", "mean"),
    # Ablations of it: the same loss on scaled counts (large values), and the summed ELBO on log data.
    "original/preprocessed": ("preprocessed", "gaussian_fixed", "mean"),
    "fixed-variance/ELBO": ("processed", "gaussian_fixed", "sum"),
    # ... and the original's loss with one term averaged, the other summed, to separate the causes.
    "recon-averaged": ("processed", "gaussian_fixed", "mean_recon"),
    "KL-averaged": ("processed", "gaussian_fixed", "mean_kl"),
}


#: The original objective's M1 ablations in the main grid (the run at beta = G/d is
#: :func:`cellvae.study.calls.original_study.equivalence_spec`).
ABLATION_FAMILIES = ("original/preprocessed", "fixed-variance/ELBO", "recon-averaged", "KL-averaged")


@dataclass(frozen=True)
class RunSpec:
    """One training run of the study."""

    arch: str                  # architecture name (M1..M5, or a free label) for tables
    family: str                # model family label (a FAMILIES key or a free label)
    variant: str               # data variant the model sees: raw, preprocessed, processed
    model: VAEConfig           # the model; n_input and n_batch are filled in from the data
    train: TrainConfig = BOOK_TRAIN  # the optimiser, schedule and seed
    conditional: bool = False  # condition encoder and decoder on obs['batch']
    iwae_k: int = BOOK_IWAE_K  # importance samples for the held-out IWAE bound

    @property
    def label(self) -> str:
        """Short human-readable name, e.g. ``"M2 nb/raw +batch beta=1"`` (`` seed=1`` if not 0)."""
        tag = " +batch" if self.conditional else ""
        seed = f" seed={self.train.seed}" if self.train.seed else ""
        return f"{self.arch} {self.family}{tag} beta={self.model.beta:g}{seed}"

    def key(self, data_fingerprint: str) -> str:
        """Cache key of this run on some data.

        Parameters
        ----------
        data_fingerprint
            :func:`cellvae.data.fingerprint` of the prepared data.

        Returns
        -------
        str
            24 hex digits covering the spec, the data and the package version.
        """
        blob = json.dumps({"spec": asdict(self), "data": data_fingerprint, "version": __version__},
                          sort_keys=True)
        return hashlib.sha256(blob.encode()).hexdigest()[:24]


def family_spec(arch: str, family: str, **model) -> RunSpec:
    """The spec of architecture ``arch`` trained as ``family`` on the book's budget.

    Parameters
    ----------
    arch
        An :data:`ARCHITECTURES` key.
    family
        A :data:`FAMILIES` key.
    **model
        Further :class:`~cellvae.model.VAEConfig` fields (``beta``, ...).

    Returns
    -------
    RunSpec
    """
    variant, likelihood, reduction = FAMILIES[family]
    lat, hid = ARCHITECTURES[arch]
    cfg = VAEConfig(n_latent=lat, n_hidden=hid, likelihood=likelihood, reduction=reduction, **model)
    return RunSpec(arch=arch, family=family, variant=variant, model=cfg)


def grid_specs(families=("gaussian/preprocessed", "gaussian/processed", "nb/raw")) -> list[RunSpec]:
    """Every architecture x family, in the original's naming.

    Parameters
    ----------
    families
        :data:`FAMILIES` keys.

    Returns
    -------
    list of RunSpec
    """
    return [family_spec(a, f) for f in families for a in ARCHITECTURES]


def report_specs() -> list[RunSpec]:
    """Every run the results chapter shows.

    The count models of every architecture at each of :data:`SEEDS` (the model choice), the
    two Gaussian families and the original objective at the first seed, and the M1
    ablations of the original objective (:data:`ABLATION_FAMILIES`).

    Returns
    -------
    list of RunSpec
    """
    nb = [variant_of(s, seed=k) for k in SEEDS for s in grid_specs(families=("nb/raw",))]
    once = grid_specs(families=("gaussian/preprocessed", "gaussian/processed", "original"))
    return nb + once + [family_spec("M1", f) for f in ABLATION_FAMILIES]


def variant_of(spec: RunSpec, **changes) -> RunSpec:
    """A copy of ``spec`` with some fields changed, wherever they live.

    Parameters
    ----------
    spec
        The run to vary.
    **changes
        :class:`RunSpec`, :class:`~cellvae.model.VAEConfig` or
        :class:`~cellvae.model.TrainConfig` fields, e.g. ``beta=4`` or ``seed=1``.

    Returns
    -------
    RunSpec

    Raises
    ------
    TypeError
        For a name that is no field of any of the three.
    """
    own = {f.name for f in fields(RunSpec)}
    parts = {"model": {f.name for f in fields(VAEConfig)}, "train": {f.name for f in fields(TrainConfig)}}
    top = {k: v for k, v in changes.items() if k in own}
    for part, names in parts.items():
        sub = {k: v for k, v in changes.items() if k in names}
        if sub:
            top[part] = replace(top.get(part, getattr(spec, part)), **sub)
    unknown = set(changes) - own - parts["model"] - parts["train"]
    if unknown:
        raise TypeError(f"no RunSpec, VAEConfig or TrainConfig field named {sorted(unknown)}")
    return replace(spec, **top)


def batch_pair(spec: RunSpec) -> tuple[RunSpec, RunSpec]:
    """The plain and the batch-conditional version of ``spec``, under the same training rule.

    Parameters
    ----------
    spec
        A count-model run.

    Returns
    -------
    tuple of RunSpec
        (plain, conditional); the plain one is ``spec`` itself, so its cached run is reused.
    """
    return spec, replace(spec, conditional=True)


#: Training seeds of the batch table's VAEs (and scVI): the replicates each verdict's interval rests on.
BATCH_SEEDS = (0, 1, 2, 3, 4)


def batch_seeds(spec: RunSpec) -> list[RunSpec]:
    """:func:`batch_pair` of ``spec`` at every one of :data:`BATCH_SEEDS`, plain then conditional.

    Parameters
    ----------
    spec
        A count-model run (its seed is replaced).

    Returns
    -------
    list of RunSpec
        ``2 * len(BATCH_SEEDS)`` runs; those at the grid's :data:`SEEDS` are its own cached runs.
    """
    return [r for k in BATCH_SEEDS for r in batch_pair(variant_of(spec, seed=k))]


def zinb_of(spec: RunSpec) -> RunSpec:
    """The ZINB version of an NB run: the posterior predictive check of its extra zeros.

    Parameters
    ----------
    spec
        An ``nb/raw`` run.

    Returns
    -------
    RunSpec
        The same run with a zero-inflated NB decoder (family ``zinb/raw``).
    """
    return variant_of(spec, family="zinb/raw", likelihood="zinb")


def sweep_specs(spec: RunSpec) -> list[RunSpec]:
    """The beta sweep of ``spec``: one run per value of :data:`BETAS`.

    Parameters
    ----------
    spec
        The chosen count model.

    Returns
    -------
    list of RunSpec
    """
    return [variant_of(spec, beta=b) for b in BETAS]
