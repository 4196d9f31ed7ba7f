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
