"""The two config dataclasses: what the model is, and how it is trained."""

from __future__ import annotations

import difflib
import inspect
from dataclasses import asdict, dataclass, fields

LIKELIHOODS = ("gaussian", "gaussian_fixed", "nb", "zinb")
COUNT_LIKELIHOODS = ("nb", "zinb")
REDUCTIONS = ("sum", "mean", "mean_recon", "mean_kl")
PRECISIONS = ("32", "bf16-mixed")


class ConfigError(ValueError):
    """A config value that makes no sense; the message names the field."""


class _Config:
    """What both config dataclasses share: validation and conversion to a dict."""

    def _check(self, checks: list[tuple[bool, str]]) -> None:
        for ok, msg in checks:
            if not ok:
                raise ConfigError(f"{type(self).__name__}: {msg}")

    def to_dict(self) -> dict:
        """The fields as a plain dict (for checkpoints and cache keys).

        Returns
        -------
        dict
            Field name -> value.
        """
        return asdict(self)


@dataclass(frozen=True)
class VAEConfig(_Config):
    """What the model is: sizes, likelihood, conditioning and objective (one default each)."""

    n_input: int | None = None        # genes in and out; None until bound to data (CellVAE, the study)
    n_latent: int = 10                # dimension of z
    n_hidden: int = 128               # width of every hidden layer
    n_layers: int = 1                 # hidden layers in the encoder and in the decoder
    dropout: float = 0.1              # dropout after each encoder hidden layer
    norm: str = "batch"               # "batch", "layer" or "none" after each hidden linear map
    likelihood: str = "nb"            # p(x|z): gaussian (learned per-gene var), gaussian_fixed, nb, zinb
    fixed_var: float = 1.0            # variance of gaussian_fixed (the original study's decoder)
    input_transform: str = "auto"     # "log1p", "none", or "auto" (log1p for count likelihoods, else none)
    n_batch: int = 0                  # batch categories one-hot fed to the decoder (0 = unconditional)
    encode_batch: bool = False        # also feed the batch one-hot to the encoder (conditional VAE)
    beta: float = 1.0                 # weight on KL: loss = recon + beta * KL (beta-VAE)
    reduction: str = "sum"            # "sum" (the ELBO); "mean": recon over genes and KL over latent
    #                                   dims averaged (the original's MSE-style); "mean_recon" or
    #                                   "mean_kl": only that term averaged (ablations of it)

    def __post_init__(self):
        checks = [
            (self.n_input is None or self.n_input >= 1, "n_input must be >= 1"),
            (self.n_latent >= 1, "n_latent must be >= 1"),
            (self.n_hidden >= 1, "n_hidden must be >= 1"),
            (self.n_layers >= 1, "n_layers must be >= 1"),
            (0.0 <= self.dropout < 1.0, "dropout must be in [0, 1)"),
            (self.norm in ("batch", "layer", "none"), "norm must be 'batch', 'layer' or 'none'"),
            (self.likelihood in LIKELIHOODS, f"likelihood must be one of {LIKELIHOODS}"),
            (self.fixed_var > 0, "fixed_var must be > 0"),
            (self.input_transform in ("auto", "log1p", "none"),
             "input_transform must be 'auto', 'log1p' or 'none'"),
            (self.n_batch >= 0, "n_batch must be >= 0"),
            (not self.encode_batch or self.n_batch > 0, "encode_batch needs n_batch > 0"),
            (self.beta >= 0, "beta must be >= 0"),
            (self.reduction in REDUCTIONS, f"reduction must be one of {REDUCTIONS}"),
        ]
        self._check(checks)
        if self.input_transform == "auto":  # resolved once, so saved configs say what ran
            auto = "log1p" if self.likelihood in COUNT_LIKELIHOODS else "none"
            object.__setattr__(self, "input_transform", auto)


@dataclass(frozen=True)
class TrainConfig(_Config):
    """How the model is trained: optimiser, schedule, early stopping and seed (one default each)."""

    max_epochs: int = 50              # hard cap on passes over the training cells
    batch_size: int = 256             # cells per minibatch
    lr: float = 1e-3                  # Adam learning rate
    weight_decay: float = 0.0         # Adam L2 penalty
    kl_warmup_epochs: int = 10        # beta ramps 0 -> beta over these epochs (capped below max_epochs)
    grad_clip: float = 10.0           # max global gradient norm (0 disables clipping)
    patience: int = 8                 # epochs without validation-ELBO gain before stopping (0 = never)
    min_rel_gain: float = 0.0         # a gain smaller than this share of the validation loss counts as none
    validation_fraction: float = 0.1  # share of training cells held out for early stopping
    seed: int = 0                     # seeds torch, numpy and (unless split_seed is set) the validation split
    split_seed: int | None = None     # seeds the validation split alone, fixing it across seeds; None: seed
    device: str = "auto"              # "auto" (cuda, then mps, then cpu), or a torch device string
    progress: bool = True             # show a tqdm bar with the running loss
    checkpoint_every: int = 1         # epochs between resume snapshots (when train() gets a path)
    cuda_graph: bool = True           # on CUDA, replay full minibatches' steps from captured graphs
    precision: str = "32"             # "32", or "bf16-mixed": the layers under bfloat16 autocast, the
    #                                   likelihood, KL and optimiser in float32 (model/fastpath.py)
    compile_likelihood: bool = False  # torch.compile the NB/ZINB likelihood of the loss (eager if it fails)

    def __post_init__(self):
        checks = [
            (self.max_epochs >= 1, "max_epochs must be >= 1"),
            (self.batch_size >= 2, "batch_size must be >= 2"),
            (self.lr > 0, "lr must be > 0"),
            (self.weight_decay >= 0, "weight_decay must be >= 0"),
            (self.kl_warmup_epochs >= 0, "kl_warmup_epochs must be >= 0"),
            (self.grad_clip >= 0, "grad_clip must be >= 0"),
            (self.patience >= 0, "patience must be >= 0"),
            (0.0 <= self.min_rel_gain < 1.0, "min_rel_gain must be in [0, 1)"),
            (0.0 <= self.validation_fraction < 1.0, "validation_fraction must be in [0, 1)"),
            (self.checkpoint_every >= 1, "checkpoint_every must be >= 1"),
            (self.precision in PRECISIONS, f"precision must be one of {PRECISIONS}"),
        ]
        self._check(checks)


def default(cls, name: str):
    """The default of field ``name`` of config dataclass ``cls``: the one place it is defined.

    Parameters
    ----------
    cls
        :class:`VAEConfig` or :class:`TrainConfig`.
    name
        A field name.

    Returns
    -------
    object
        The field's default value.

    Raises
    ------
    ConfigError
        If ``cls`` has no such field.
    """
    for f in fields(cls):
        if f.name == name:
            return f.default
    raise ConfigError(f"{cls.__name__} has no field {name!r}")


def keyword_options(fn) -> list[str]:
    """The keyword-only parameter names of ``fn``, in signature order: its valid options.

    Parameters
    ----------
    fn
        A function or method.

    Returns
    -------
    list of str
        The names, without ``*args`` or ``**kwargs``.
    """
    return [p.name for p in inspect.signature(fn).parameters.values() if p.kind is p.KEYWORD_ONLY]


def config_from(cls, values: dict, **fixed):
    """Build ``cls`` from the entries of ``values`` that are its fields, plus ``fixed``.

    So a function with one explicit parameter per field passes them on as ``locals()``
    without listing them twice.

    Parameters
    ----------
    cls
        :class:`VAEConfig` or :class:`TrainConfig`.
    values
        Name -> value; names that are not fields of ``cls`` are ignored.
    **fixed
        Fields set here rather than taken from ``values``.

    Returns
    -------
    object
        An instance of ``cls``.

    Raises
    ------
    ConfigError
        On an invalid value.
    """
    names = {f.name for f in fields(cls)} - set(fixed)
    return cls(**{k: v for k, v in values.items() if k in names}, **fixed)


def reject_unknown(fn, unknown: dict) -> None:
    """Raise one :class:`ConfigError` line naming unknown keyword options and the valid ones.

    What a function with explicit keyword-only options does with its guarded ``**unknown``,
    so a misspelt option is a ``ConfigError`` (a ``ValueError``), not Python's ``TypeError``.

    Parameters
    ----------
    fn
        The function or method that got ``unknown``; its keyword-only parameters
        (:func:`keyword_options`) are the valid options, and its name starts the message.
    unknown
        The keyword arguments that matched no parameter; nothing happens when empty.

    Raises
    ------
    ConfigError
        If ``unknown`` is not empty.
    """
    if not unknown:
        return
    owner, valid, bad = fn.__qualname__.removesuffix(".__init__"), keyword_options(fn), sorted(unknown)
    close = [f"{b!r} -> {m[0]!r}" for b in bad if (m := difflib.get_close_matches(b, valid, n=1))]
    hint = f" (did you mean {', '.join(close)}?)" if close else ""
    raise ConfigError(f"{owner}: unknown option(s) {bad}{hint}; valid options: {', '.join(valid)}")


def from_dict(cls, d: dict):
    """Build ``cls`` from a dict, naming any unknown key.

    Parameters
    ----------
    cls
        :class:`VAEConfig` or :class:`TrainConfig`.
    d
        Field name -> value.

    Returns
    -------
    object
        An instance of ``cls``.

    Raises
    ------
    ConfigError
        On an unknown key or an invalid value.
    """
    names = {f.name for f in fields(cls)}
    unknown = sorted(set(d) - names)
    if unknown:
        raise ConfigError(f"{cls.__name__}: unknown field(s) {unknown}")
    return cls(**d)
