"""Normalisation, activation and pooling layers chosen by name (ConvNet family and others)."""

from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

from benchmark.errors import UserInputError

NORMS = ("instancenorm", "batchnorm", "layernorm", "groupnorm", "none")
# ReLU in place: the norms before it keep their input, not their output, for the backward, and
# rewriting the normalised map saves a pass over the largest activation of each block.
ACTIVATIONS = {
    "relu": lambda: nn.ReLU(inplace=True),
    "sigmoid": nn.Sigmoid,
    "leakyrelu": lambda: nn.LeakyReLU(0.01),
}
POOLINGS = ("avgpool", "maxpool", "none")


def norm_layer(name: str, channels: int, size: int) -> nn.Module:
    """``instancenorm`` is GroupNorm(c, c) with affine parameters, as in the references."""
    if name == "instancenorm":
        return nn.GroupNorm(channels, channels, affine=True)
    if name == "batchnorm":
        return nn.BatchNorm2d(channels)
    if name == "layernorm":
        return nn.LayerNorm([channels, size, size])
    if name == "groupnorm":
        return nn.GroupNorm(4, channels, affine=True)
    if name == "none":
        return nn.Identity()
    raise UserInputError(f"unknown norm {name!r}; choose one of {', '.join(NORMS)}")


def activation_layer(name: str) -> nn.Module:
    if name not in ACTIVATIONS:
        raise UserInputError(f"unknown activation {name!r}; choose one of {', '.join(ACTIVATIONS)}")
    return ACTIVATIONS[name]()


class GrayscaleConv2d(nn.Conv2d):
    """``nn.Conv2d`` that runs PyTorch's native im2col kernel instead of oneDNN's for a single input
    channel on CPU in float32 when no graph is recorded (DM's real-image embeddings on grayscale
    data, test passes): oneDNN is about 3× slower there. For NCHW-strided input the two kernels give
    the same output bits (tests/test_nets.py). Input with channels-last strides (DSA's flips and
    rotations can return them; with one channel it still counts as contiguous) gets different bits
    from oneDNN's channels-last algorithm and keeps it, as does anything that records a graph."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if (
            self.in_channels == 1 and self.groups == 1 and self.dilation == (1, 1)
            and self.padding_mode == "zeros" and isinstance(self.padding, tuple)
            and x.device.type == "cpu" and x.dtype == torch.float32 and x.dim() == 4
            and x.stride() == _nchw_strides(x.shape)
            and not torch.is_autocast_enabled("cpu") and not _records_graph(x, self.weight, self.bias)
        ):  # fmt: skip
            native = torch._C._nn.thnn_conv2d
            return native(x, self.weight, self.kernel_size, self.bias, self.stride, self.padding)
        return super().forward(x)


def _nchw_strides(shape: torch.Size) -> tuple[int, ...]:
    _, channels, height, width = shape
    return (channels * height * width, height * width, width, 1)


def _records_graph(*tensors: torch.Tensor | None) -> bool:
    return torch.is_grad_enabled() and any(t is not None and t.requires_grad for t in tensors)


class AvgPool2x2(nn.AvgPool2d):
    """``nn.AvgPool2d(2, 2)`` with a faster CPU path for contiguous NCHW float32 input (the DM/DC
    embedding networks and NCHW evaluation): a depthwise 2×2 convolution of stride 2 with weights
    1/4. Scaling by 1/4 is exact, and oneDNN adds a window's four products in the order PyTorch's
    kernel adds its four values, so values and gradients equal ``avg_pool2d``'s bit for bit
    (tests/test_nets.py) wherever a window's sum is finite and its average a normal float; forward
    and backward run about 2× faster than its NCHW kernels (benchmarks/test_pooling.py).
    Channels-last input (the TM student) and autocast keep ``avg_pool2d``."""

    def __init__(self):
        super().__init__(2, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if (
            x.device.type == "cpu" and x.dim() == 4 and x.dtype == torch.float32 and x.is_contiguous()
            and not torch.is_autocast_enabled("cpu")
        ):  # fmt: skip
            quarters = torch.full((x.shape[1], 1, 2, 2), 0.25)
            return F.conv2d(x, quarters, stride=2, groups=x.shape[1])
        return F.avg_pool2d(x, 2, 2)


def pooling_layer(name: str) -> nn.Module:
    if name == "avgpool":
        return AvgPool2x2()
    if name == "maxpool":
        return nn.MaxPool2d(2, 2)
    if name == "none":
        return nn.Identity()
    raise UserInputError(f"unknown pooling {name!r}; choose one of {', '.join(POOLINGS)}")
