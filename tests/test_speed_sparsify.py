import pytest
import torch

from speed.sparsify import per_patch_counts, sparsify, sparsify_straight_through, topk_mask


def test_global_keeps_exactly_k_largest():
    scm = torch.randn(3, 2, 5, 4, generator=torch.Generator().manual_seed(0))
    mask = topk_mask(scm, 7, "global")
    assert torch.all(mask.sum((-1, -2)) == 7)
    flat = scm.abs().reshape(3, 2, -1)
    kept = torch.where(mask.reshape(3, 2, -1), flat, torch.inf).amin(-1)
    dropped = torch.where(mask.reshape(3, 2, -1), -torch.inf, flat).amax(-1)
    assert torch.all(kept >= dropped)


def test_global_ties_keep_lowest_flat_indices():
    scm = torch.zeros(1, 1, 3, 4)
    scm[0, 0, 2, 3] = -5.0  # the largest magnitude, kept first
    mask = topk_mask(scm, 4, "global")  # then 3 of the 11 tied zeros: flat indices 0, 1, 2
    assert mask.sum() == 4
    assert mask.reshape(-1).nonzero().flatten().tolist() == [0, 1, 2, 11]
    all_equal = torch.ones(2, 3, 4, 5)
    assert torch.all(topk_mask(all_equal, 6, "global").sum((-1, -2)) == 6)


def test_local_spreads_k_over_patches():
    assert per_patch_counts(10, 4) == [3, 3, 2, 2]
    assert per_patch_counts(3, 5) == [1, 1, 1, 0, 0]
    scm = torch.randn(2, 3, 4, 6, generator=torch.Generator().manual_seed(1))
    mask = topk_mask(scm, 10, "local")
    assert torch.all(mask.sum((-1, -2)) == 10)
    assert mask.sum(-1)[0, 0].tolist() == [3, 3, 2, 2]
    # within a patch, the kept entries are that patch's largest
    order = scm.abs()[0, 0, 0].argsort(descending=True)[:3]
    assert set(mask[0, 0, 0].nonzero().flatten().tolist()) == set(order.tolist())
    ties = torch.ones(1, 1, 4, 6)
    tied_mask = topk_mask(ties, 10, "local")
    assert tied_mask.sum() == 10 and tied_mask[0, 0, 0].tolist() == [True] * 3 + [False] * 3


def test_bad_k_and_scope():
    with pytest.raises(ValueError):
        topk_mask(torch.ones(1, 1, 2, 2), 5)
    with pytest.raises(ValueError):
        topk_mask(torch.ones(1, 1, 2, 2), 2, "nearby")


def test_straight_through_forward_is_masked_gradient_reaches_all():
    scm = torch.randn(2, 2, 3, 4, requires_grad=True)
    out = sparsify_straight_through(scm, 5)
    assert torch.equal(out, sparsify(scm, 5))
    assert (out != 0).sum() == 2 * 2 * 5
    out.sum().backward()
    assert torch.equal(scm.grad, torch.ones_like(scm))
    scm.grad = None
    sparsify(scm, 5).sum().backward()
    assert scm.grad.sum() == 2 * 2 * 5


def _stable_sort_rule(scm: torch.Tensor, k: int) -> torch.Tensor:
    """The module docstring's rule, written as a full stable sort of (−|a|, flat index)."""
    n, heads, patches, tokens = scm.shape
    flat = scm.abs().reshape(n, heads, patches * tokens)
    order = torch.sort(flat, dim=-1, descending=True, stable=True).indices[..., :k]
    return torch.zeros_like(flat, dtype=torch.bool).scatter_(-1, order, True).reshape(scm.shape)


def test_global_mask_equals_the_stable_sort_rule_with_ties_and_nan():
    generator = torch.Generator().manual_seed(0)
    for _ in range(100):
        k = int(torch.randint(1, 21, (1,), generator=generator))
        tied = torch.randint(-3, 4, (3, 2, 5, 4), generator=generator).float()  # many equal magnitudes
        assert torch.equal(topk_mask(tied, k, "global"), _stable_sort_rule(tied, k))
    wide = torch.randn(8, 2, 49, 16, generator=generator)
    assert torch.equal(topk_mask(wide, 12, "global"), _stable_sort_rule(wide, 12))
    with_nan = torch.randn(2, 1, 3, 3, generator=generator)
    with_nan[0, 0, 1, 1] = float("nan")
    assert torch.equal(topk_mask(with_nan, 4, "global"), _stable_sort_rule(with_nan, 4))
