"""Data: reading and validating BMMC h5ad files, preparing them, and simulating them.

- :mod:`cellvae.data.io`: paths, gzip, the sha256-checked GEO download.
- :mod:`cellvae.data.schema`: required columns, raw-count and label checks, starter-kit names.
- :mod:`cellvae.data.checks`: what a fit needs (:func:`check_fit`), each failure a one-line error.
- :mod:`cellvae.data.design`: which columns are batch, cell type, donor and site, and what a batch is.
- :mod:`cellvae.data.preprocess`: HVGs (scanpy's seurat flavour, in blocks), normalisation, variants, the split.
- :mod:`cellvae.data.simulate`: the seeded BMMC-like simulator.
"""

from .blocks import pearson_residual_moments, seurat_dispersions
from .checks import check_fit
from .design import BATCH_KINDS, Design, resolve_design
from .io import ENV_VAR, GEO_FILENAME, GEO_SHA256, fetch_geo, read_h5ad, resolve_path
from .preprocess import (
    VARIANTS,
    fingerprint,
    get_variant,
    load_bmmc,
    normalise,
    prepare,
    select_hvgs,
    size_factors,
    split_cells,
    variant_blocks,
)
from .schema import REQUIRED_OBS, DataError, check_counts, check_labels, harmonize_obs, validate
from .simulate import simulate_bmmc

__all__ = [
    "BATCH_KINDS", "ENV_VAR", "GEO_FILENAME", "GEO_SHA256", "REQUIRED_OBS", "VARIANTS", "DataError", "Design", "check_counts",
    "check_fit", "check_labels",
    "fetch_geo", "fingerprint", "get_variant", "harmonize_obs", "load_bmmc", "normalise",
    "pearson_residual_moments", "prepare", "read_h5ad", "resolve_design", "resolve_path", "select_hvgs", "seurat_dispersions",
    "simulate_bmmc", "size_factors", "split_cells", "validate", "variant_blocks",
]
