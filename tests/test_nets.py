import pytest
import torch

from benchmark.nets import create_network, parameter_count


def test_parameter_counts_match_the_protocol():
    assert parameter_count(create_network("ConvNet", 3, 32, 10)) == 320_010
    assert parameter_count(create_network("MLP", 3, 32, 10)) == 411_146


@pytest.mark.parametrize("name", ["ConvNet", "MLP", "ConvNetD4"])
@pytest.mark.parametrize("shape", [(1, 28), (3, 32)])
def test_networks_run_on_28_and_32_pixels(name, shape):
    channels, size = shape
    if name == "ConvNetD4":
        size = size * 2
    net = create_network(name, channels, size, 7)
    out = net(torch.randn(2, channels, size, size))
    assert out.shape == (2, 7)
    assert net.embed(torch.randn(2, channels, size, size)).shape == (2, net.embedding_dim)


def test_convnet_sees_28_pixels_as_32():
    assert create_network("ConvNet", 1, 28, 10).embedding_dim == 2048
