import pytest
import torch

from benchmark.seeding import seeded
from speed.freenet import FReeNet, freenet_parameter_count


@pytest.mark.parametrize(
    "dim,heads,depth,patch,shape",
    [
        (8, 2, 1, 2, (1, 8, 8)),
        (12, 3, 2, 4, (3, 16, 16)),
        (6, 1, 3, 7, (1, 28, 28)),
        (8, 4, 1, 4, (2, 8, 12)),
    ],
)
def test_shapes_and_parameter_count(dim, heads, depth, patch, shape):
    net = FReeNet(dim, heads, depth, patch, shape)
    patch_len = shape[0] * patch * patch
    assert sum(p.numel() for p in net.parameters()) == freenet_parameter_count(dim, depth, patch_len)
    assert freenet_parameter_count(dim, depth, patch_len) == depth * (3 * dim**2 + 7 * dim) + patch_len * (
        dim + 1
    )
    tokens, n = 5, 3
    saet = torch.randn(tokens, dim)
    scm = torch.randn(n, heads, net.num_patches, tokens)
    images = net(saet, scm)
    assert images.shape == (n, *shape)


def test_init_rules():
    net = FReeNet(8, 2, 2, 2, (1, 8, 8))
    for name, p in net.named_parameters():
        if name.endswith("bias"):
            assert torch.all(p == 0), name
        elif "norm" in name:
            assert torch.all(p == 1), name


def test_batch_decode_matches_single_images_and_patches_are_placed():
    net = seeded(0, lambda: FReeNet(8, 2, 1, 2, (3, 4, 6)))
    saet = torch.randn(4, 8)
    scm = torch.randn(5, 2, net.num_patches, 4)
    batch = net(saet, scm)
    for i in range(5):
        torch.testing.assert_close(batch[i : i + 1], net(saet, scm[i : i + 1]))
    # un-patchify: patch j (row-major over the 2×3 grid) lands at its grid cell; its vector is
    # ordered (row in patch, column in patch, channel) as in the published code
    patches = torch.arange(6 * 3 * 2 * 2, dtype=torch.float32).reshape(1, 6, 12)
    image = net.unpatchify(patches)
    assert torch.equal(image[0, :, 2:4, 4:6], patches[0, 5].reshape(2, 2, 3).permute(2, 0, 1))
    assert image[0, 1, 2, 4] == 61.0 and image[0, 0, 2, 5] == 63.0  # channel fastest, then column
    legacy = seeded(0, lambda: FReeNet(8, 2, 1, 2, (3, 4, 6), patch_layout="channel_row_column"))
    image = legacy.unpatchify(patches)  # buffers written before the published layout
    assert torch.equal(image[0, :, 2:4, 4:6], patches[0, 5].reshape(3, 2, 2))


def test_multi_head_coding_uses_head_slices_of_e():
    net = FReeNet(4, 2, 1, 2, (1, 4, 4))
    saet = torch.randn(3, 4)
    scm = torch.randn(1, 2, 4, 3)
    coded = net.code(saet, scm)
    expected = torch.cat([scm[0, 0] @ saet[:, :2], scm[0, 1] @ saet[:, 2:]], dim=-1)
    torch.testing.assert_close(coded[0], expected)


def test_gradient_reaches_e_a_and_freenet():
    net = FReeNet(8, 2, 2, 2, (1, 8, 8))
    saet = torch.randn(4, 8, requires_grad=True)
    scm = torch.randn(2, 2, net.num_patches, 4, requires_grad=True)
    net(saet, scm).square().mean().backward()
    assert saet.grad.abs().sum() > 0 and scm.grad.abs().sum() > 0
    for name, p in net.named_parameters():
        assert p.grad is not None and p.grad.abs().sum() > 0, name
