"""Attention benchmark: our kernels vs the peers on the same inputs, one process, one GPU, one run."""
