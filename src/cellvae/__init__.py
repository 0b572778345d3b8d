"""cellvae: variational autoencoders for single-cell RNA-seq."""
__version__ = "0.1.0"
