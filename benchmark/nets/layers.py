"""Normalisation, activation and pooling layers chosen by name (ConvNet family and others)."""

from __future__ import annotations

import torch.nn as nn

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


def pooling_layer(name: str) -> nn.Module:
    if name == "avgpool":
        return nn.AvgPool2d(2, 2)
    if name == "maxpool":
        return nn.MaxPool2d(2, 2)
    if name == "none":
        return nn.Identity()
    raise UserInputError(f"unknown pooling {name!r}; choose one of {', '.join(POOLINGS)}")
