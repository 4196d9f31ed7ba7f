"""The evaluation network zoo: parameter counts of docs/protocol.md §1 and forward passes at every size."""

from __future__ import annotations

import pytest
import torch

from benchmark.errors import UserInputError
from benchmark.nets import create_network, parameter_count
from benchmark.nets.vit import fitting_patch
from benchmark.registries import NETWORKS

ZOO = ["ResNet18", "ResNet18BN", "ResNet18_AP", "ViT", "AlexNet", "VGG11", "LeNet"]
SHAPES = [(1, 28), (3, 32), (3, 64), (1, 8)]
TOO_SMALL = {("LeNet", 8): "two valid 5×5 convolutions and two poolings need at least 16 px"}


@pytest.mark.parametrize(
    ("name", "count"), [("ResNet18", 11_173_962), ("ResNet18BN", 11_173_962), ("ViT", 9_523_722)]
)
def test_parameter_counts_at_cifar_size(name, count):
    assert parameter_count(create_network(name, 3, 32, 10)) == count


@pytest.mark.parametrize("name", ZOO)
@pytest.mark.parametrize(("channels", "size"), SHAPES)
def test_forward_and_embed(name, channels, size):
    if (name, size) in TOO_SMALL:
        pytest.skip(f"{name} at {size} px: {TOO_SMALL[name, size]}")
    torch.manual_seed(0)
    net = create_network(name, channels, size, 7).eval()
    x = torch.randn(2, channels, size, size)
    with torch.no_grad():
        features = net.embed(x)
        logits = net(x)
    assert logits.shape == (2, 7) and torch.isfinite(logits).all()
    assert features.shape == (2, net.classifier.in_features)
    assert torch.allclose(net.classifier(features), logits, atol=1e-5)


def test_lenet_refuses_images_too_small():
    with pytest.raises(UserInputError, match="16 px"):
        create_network("LeNet", 1, 8, 10)


def test_instance_norm_is_the_default_and_batchnorm_is_the_bn_variant():
    norms = {type(m).__name__ for m in create_network("ResNet18", 3, 32, 10).modules()}
    assert "GroupNorm" in norms and "BatchNorm2d" not in norms
    norms = {type(m).__name__ for m in create_network("ResNet18BN", 3, 32, 10).modules()}
    assert "BatchNorm2d" in norms and "GroupNorm" not in norms
    assert all(
        m.bias is None
        for m in create_network("ResNet18", 3, 32, 10).modules()
        if isinstance(m, torch.nn.Conv2d)
    )
    vgg = create_network("VGG11", 3, 32, 10)
    assert any(isinstance(m, torch.nn.GroupNorm) and m.num_groups == m.num_channels for m in vgg.modules())


def test_resnet18_ap_downsamples_by_average_pooling():
    net = create_network("ResNet18_AP", 3, 32, 10)
    assert all(m.stride == (1, 1) for m in net.modules() if isinstance(m, torch.nn.Conv2d))
    assert any(isinstance(m, torch.nn.AvgPool2d) for m in net.modules())
    assert parameter_count(net) == 11_173_962


def test_vit_patch_fits_the_image():
    assert fitting_patch(32, 4) == 4 and fitting_patch(28, 4) == 4 and fitting_patch(8, 4) == 4
    assert fitting_patch(30, 4) == 3 and fitting_patch(7, 4) == 1
    vit = create_network("ViT", 3, 30, 10)
    assert vit.patch == 3 and vit.pos_embedding.shape[1] == 101
    assert create_network("ViT", 3, 64, 10).pos_embedding.shape[1] == 257


def test_every_network_is_registered():
    for name in ZOO:
        assert name in NETWORKS and NETWORKS.describe(name)
