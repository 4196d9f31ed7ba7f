import torch

from benchmark.budget import tensor_storage
from speed import coo
from speed.sparsify import sparsify, topk_mask


def test_round_trip_and_storage():
    scm = torch.randn(4, 3, 16, 8, generator=torch.Generator().manual_seed(0))
    for scope in ("global", "local"):
        mask = topk_mask(scm, 6, scope)
        tensors = coo.encode(scm, mask)
        assert tensors["coo_rows"].shape == (4, 3, 6) and tensors["coo_rows"].dtype == torch.uint8
        assert tensors["coo_cols"].dtype == torch.uint8 and tensors["coo_values"].dtype == torch.float32
        assert torch.equal(coo.decode(tensors, 16, 8), sparsify(scm, 6, scope))
        assert sum(tensor_storage(t) for t in tensors.values()) == 1.5 * 4 * 3 * 6
        again = coo.encode(coo.decode(tensors, 16, 8), mask)
        assert all(torch.equal(again[name], tensors[name]) for name in tensors)


def test_zero_values_and_largest_indices_survive():
    scm = torch.zeros(1, 1, 256, 256)
    scm[0, 0, 255, 255] = 3.0
    mask = topk_mask(scm, 2)
    tensors = coo.encode(scm, mask)
    assert tensors["coo_rows"].tolist() == [[[0, 255]]] and tensors["coo_cols"].tolist() == [[[0, 255]]]
    assert torch.equal(coo.decode(tensors, 256, 256), scm)
