"""Command line: ``cellvae fit`` and ``cellvae simulate``."""

from __future__ import annotations

import argparse
import inspect
import sys
from pathlib import Path

from ._io import atomic_path
from .data import DataError, check_fit, read_h5ad, simulate_bmmc
from .model import (
    LIKELIHOODS,
    PRECISIONS,
    CheckpointError,
    ConfigError,
    TrainConfig,
    TrainingDiverged,
    VAEConfig,
)
from .model import default as _d


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="cellvae", description="VAEs for single-cell RNA-seq.")
    sub = p.add_subparsers(dest="command", required=True)
    f = sub.add_parser("fit", help="train a VAE and write its latent space to obsm['X_cellvae']",
                       formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    f.add_argument("input", help="input .h5ad or .h5ad.gz (never modified)")
    f.add_argument("-o", "--output", required=True, help="output .h5ad; the model goes beside it as .model.pt")
    f.add_argument("--latent", type=int, default=_d(VAEConfig, "n_latent"), help="latent dimensions")
    f.add_argument("--hidden", type=int, default=_d(VAEConfig, "n_hidden"), help="hidden units per layer")
    f.add_argument("--layers", type=int, default=_d(VAEConfig, "n_layers"), help="hidden layers")
    f.add_argument("--likelihood", choices=LIKELIHOODS, default=_d(VAEConfig, "likelihood"),
                   help="decoder likelihood")
    f.add_argument("--layer", default=None, help="layer to model (default: 'counts' if present, else X)")
    f.add_argument("--batch-key", default=None, help="obs column to condition on (default: none)")
    f.add_argument("--beta", type=float, default=_d(VAEConfig, "beta"), help="KL weight")
    f.add_argument("--epochs", type=int, default=_d(TrainConfig, "max_epochs"), help="maximum epochs")
    f.add_argument("--batch-size", type=int, default=_d(TrainConfig, "batch_size"), help="cells per minibatch")
    f.add_argument("--lr", type=float, default=_d(TrainConfig, "lr"), help="Adam learning rate")
    f.add_argument("--seed", type=int, default=_d(TrainConfig, "seed"), help="random seed")
    f.add_argument("--device", default=_d(TrainConfig, "device"), help="auto, cpu, cuda, mps")
    f.add_argument("--precision", choices=PRECISIONS, default=_d(TrainConfig, "precision"),
                   help="bf16-mixed: encoder and decoder layers in bfloat16, likelihood and optimiser in float32")
    f.add_argument("--compile-likelihood", action="store_true",
                   help="torch.compile the NB/ZINB likelihood (a one-off compile; eager where it fails)")
    f.add_argument("--quiet", action="store_true", help="no progress bar")
    f.add_argument("--resume", action="store_true",
                   help="resume an interrupted fit from OUTPUT's .resume.pt snapshot")
    sim = inspect.signature(simulate_bmmc).parameters  # the simulator's own defaults
    s = sub.add_parser("simulate", help="write BMMC-like simulated data in the GEO schema",
                       formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    s.add_argument("-o", "--output", required=True, help="output .h5ad")
    s.add_argument("--cells", type=int, default=sim["n_cells"].default, help="cells")
    s.add_argument("--genes", type=int, default=sim["n_genes"].default, help="genes")
    s.add_argument("--site-effect", type=float, default=sim["site_effect"].default, help="site effect strength")
    s.add_argument("--donor-effect", type=float, default=sim["donor_effect"].default, help="donor effect strength")
    s.add_argument("--seed", type=int, default=sim["seed"].default, help="random seed")
    return p


def _write(adata, out: Path) -> None:
    with atomic_path(out) as tmp:
        adata.write_h5ad(tmp)


def _fit(a) -> None:
    from .model import CellVAE

    src, out = Path(a.input), Path(a.output)
    if out.exists() and src.exists() and out.resolve() == src.resolve():
        raise DataError("output must differ from input; the input file is never overwritten")
    if out.suffix != ".h5ad":
        raise DataError(f"output must end in .h5ad, got {out.name}")
    adata = read_h5ad(src)
    layer = a.layer or ("counts" if "counts" in adata.layers else None)
    fit_on = adata  # GEX features only when the file mixes modalities (as the GEO file does)
    if "feature_types" in adata.var and (adata.var["feature_types"].astype(str) != "GEX").any():
        fit_on = adata[:, adata.var["feature_types"].astype(str) == "GEX"]
    if a.batch_key is not None and a.batch_key not in fit_on.obs:
        raise DataError(f"batch_key '{a.batch_key}' is not an obs column")
    check_fit(fit_on, layer=layer, batch_key=a.batch_key, batch_size=a.batch_size)  # before anything is trained
    model = CellVAE(fit_on, layer=layer, likelihood=a.likelihood, batch_key=a.batch_key,
                    n_latent=a.latent, n_hidden=a.hidden, n_layers=a.layers, beta=a.beta)
    snapshot = out.with_suffix(".resume.pt")
    if not a.resume:
        snapshot.unlink(missing_ok=True)  # a fresh fit never continues an old one
    res = model.train(fit_on, max_epochs=a.epochs, batch_size=a.batch_size, lr=a.lr, seed=a.seed,
                      device=a.device, progress=not a.quiet, checkpoint=snapshot, precision=a.precision,
                      compile_likelihood=a.compile_likelihood)
    if res.stopped == "interrupted":  # an unfinished model is no result: write nothing
        raise KeyboardInterrupt(f"interrupted after {len(res.history)} epoch(s); nothing written; "
                                "run again with --resume to continue")
    adata.obsm["X_cellvae"] = model.get_latent(fit_on)
    summary = model.evaluate(fit_on)
    adata.uns["cellvae_fit"] = {"likelihood": a.likelihood, "layer": str(layer), "n_latent": a.latent,
                                "best_epoch": res.best_epoch, "stopped": res.stopped, "precision": a.precision,
                                **summary}
    model_path = out.with_suffix(".model.pt")
    model.save(model_path)
    _write(adata, out)
    print(f"wrote {out} (obsm['X_cellvae'], {a.latent} dims) and {model_path}; "
          f"ELBO {summary['elbo_mean']:.2f} nats/cell, {summary['active_units']} active units")


def _simulate(a) -> None:
    out = Path(a.output)
    if out.suffix != ".h5ad":
        raise DataError(f"output must end in .h5ad, got {out.name}")
    adata = simulate_bmmc(a.cells, a.genes, site_effect=a.site_effect, donor_effect=a.donor_effect, seed=a.seed)
    _write(adata, out)
    print(f"wrote {out}: {adata.n_obs} cells x {adata.n_vars} features")


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``cellvae`` command.

    Parameters
    ----------
    argv
        Arguments without the program name; ``None`` reads ``sys.argv``.

    Returns
    -------
    int
        Exit status: 0 ok, 2 bad input, 3 diverged, 130 interrupted (no output written).
    """
    a = _parser().parse_args(argv)
    try:
        {"fit": _fit, "simulate": _simulate}[a.command](a)
    except (DataError, ConfigError, CheckpointError, ValueError) as exc:
        print(f"cellvae: error: {exc}", file=sys.stderr)
        return 2
    except TrainingDiverged as exc:
        print(f"cellvae: error: {exc}", file=sys.stderr)
        return 3
    except KeyboardInterrupt as exc:
        print(f"cellvae: {exc or 'interrupted; nothing written'}", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
