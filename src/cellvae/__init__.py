"""cellvae: variational autoencoders for single-cell RNA-seq.

The library is :mod:`cellvae.data` (loading, validation, preparation, simulation),
:mod:`cellvae.model` (config, torch module, trainer, evaluation, checkpoints, CellVAE)
and :mod:`cellvae.cli`.  :mod:`cellvae.study` is the report's own code; it imports the
library, never the reverse.
"""

from ._version import __version__
from .model import CellVAE

__all__ = ["CellVAE", "__version__"]
