"""Normalisation, activation and pooling layers chosen by name (ConvNet family and others)."""

from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

from benchmark.errors import UserInputError

NORMS = ("instancenorm", "batchnorm", "layernorm", "groupnorm", "none")
ACTIVATIONS = {"relu": nn.ReLU, "sigmoid": nn.Sigmoid, "leakyrelu": lambda: nn.LeakyReLU(0.01)}
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


class _SumOfStridedViews(torch.autograd.Function):
    """2×2 average pooling, stride 2, of a contiguous NCHW tensor, as four strided views added in
    the order PyTorch's kernel adds a window and divided by 4: bitwise the same values, a faster CPU
    forward than ``avg_pool2d``'s NCHW kernel (benchmarks/test_pooling.py). The backward is
    ``avg_pool2d``'s own."""

    @staticmethod
    def forward(ctx, x: torch.Tensor) -> torch.Tensor:
        ctx.save_for_backward(x)
        h, w = x.shape[-2] // 2 * 2, x.shape[-1] // 2 * 2  # an odd last row/column is dropped
        return (
            ((x[..., 0:h:2, 0:w:2] + x[..., 0:h:2, 1:w:2]) + x[..., 1:h:2, 0:w:2]) + x[..., 1:h:2, 1:w:2]
        ) / 4

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> torch.Tensor:
        (x,) = ctx.saved_tensors
        return torch.ops.aten.avg_pool2d_backward(grad, x, [2, 2], [2, 2], [0, 0], False, True, None)


class AvgPool2x2(nn.AvgPool2d):
    """``nn.AvgPool2d(2, 2)`` with a faster CPU forward for contiguous NCHW input (the DM/DC embedding
    networks; channels-last input, as evaluation and the TM student use, has a fast kernel already)."""

    def __init__(self):
        super().__init__(2, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.device.type == "cpu" and x.dim() == 4 and x.is_contiguous():
            return _SumOfStridedViews.apply(x)
        return F.avg_pool2d(x, 2, 2)


def pooling_layer(name: str) -> nn.Module:
    if name == "avgpool":
        return AvgPool2x2()
    if name == "maxpool":
        return nn.MaxPool2d(2, 2)
    if name == "none":
        return nn.Identity()
    raise UserInputError(f"unknown pooling {name!r}; choose one of {', '.join(POOLINGS)}")
