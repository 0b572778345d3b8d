"""Minibatch data on the device: host data left alone, block-wise copies to the GPU."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
import torch


def _counts(n=64, g=30, seed=0):
    rng = np.random.default_rng(seed)
    return sp.csr_matrix(rng.negative_binomial(2, 0.4, (n, g)).astype(np.float32))


def test_on_device_leaves_host_data_alone_and_rows_slice_alike_from_a_tensor():
    from cellvae.model.batches import as_tensor_rows, on_device

    x = sp.random(20, 5, density=0.3, format="csr", dtype=np.float32, random_state=0)
    assert on_device(x, torch.device("cpu")) is x  # a CPU fit slices the CSR matrix per minibatch
    rows = np.array([1, 3, 7])
    torch.testing.assert_close(as_tensor_rows(torch.from_numpy(x.toarray()), rows, "cpu"),
                               as_tensor_rows(x, rows, "cpu"), rtol=0, atol=0)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device (benchmarks/on_gpu.sh runs it)")
@pytest.mark.parametrize("dense", [False, True])
def test_on_device_copies_the_matrix_to_the_gpu_block_by_block(dense):
    from cellvae.model.batches import on_device

    x = _counts(n=50)
    got = on_device(x.toarray() if dense else x, torch.device("cuda"), block=7)  # 8 blocks, the last of 1 row
    assert got.is_cuda and got.dtype == torch.float32
    np.testing.assert_array_equal(got.cpu().numpy(), x.toarray())
