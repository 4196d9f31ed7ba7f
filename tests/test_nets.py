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


@pytest.mark.parametrize(
    "shape", [(5, 3, 28, 28), (4, 32, 7, 7), (2, 8, 9, 6), (3, 1, 2, 2), (64, 32, 32, 32)]
)
def test_fast_average_pooling_is_bitwise_avg_pool2d_values_and_gradients(shape):
    from benchmark.nets.layers import AvgPool2x2

    x = torch.randn(*shape, generator=torch.Generator().manual_seed(0)) * 7
    grad = torch.randn(shape[0], shape[1], shape[2] // 2, shape[3] // 2)
    weights = torch.randn(*shape, generator=torch.Generator().manual_seed(1))
    results = []
    for pool in (torch.nn.AvgPool2d(2, 2), AvgPool2x2()):
        leaf, upstream = x.clone().requires_grad_(), grad.clone().requires_grad_()
        out = pool(leaf)
        (input_grad,) = torch.autograd.grad(out, leaf, upstream, create_graph=True)
        # the gradient of a function of the input gradient (DC's gradient matching)
        (upstream_grad,) = torch.autograd.grad((input_grad * weights).sum(), upstream)
        results.append((out, input_grad, upstream_grad))
    assert all(torch.equal(ours, theirs) for ours, theirs in zip(*results, strict=True))
    # channels-last input takes PyTorch's own kernel; the gradient of the gradient exists (TM)
    channels_last = x.contiguous(memory_format=torch.channels_last)
    assert torch.equal(AvgPool2x2()(channels_last), results[0][0])
    small = torch.randn(2, 2, 4, 4, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradgradcheck(AvgPool2x2(), (small,))
