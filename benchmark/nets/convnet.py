"""ConvNet of the dataset-distillation literature (docs/protocol.md §0).

Block = conv 3×3 (width) → norm → activation → pool. 28 px inputs: the first convolution pads by
3 so the network sees 32 px, as the reference does (decision 2).
"""

from __future__ import annotations

import torch
import torch.nn as nn

from benchmark.nets.layers import activation_layer, norm_layer, pooling_layer


class ConvNet(nn.Module):
    """ConvNet with ``embed`` (the flattened features DM matches) and a linear classifier."""

    def __init__(
        self,
        channels: int,
        image_size: int,
        num_classes: int,
        width: int = 128,
        depth: int = 3,
        norm: str = "instancenorm",
        activation: str = "relu",
        pooling: str = "avgpool",
    ):
        super().__init__()
        layers: list[nn.Module] = []
        size = image_size + 4 if image_size == 28 else image_size
        in_channels = channels
        for d in range(depth):
            padding = 3 if (d == 0 and image_size == 28) else 1
            layers.append(nn.Conv2d(in_channels, width, 3, padding=padding))
            layers.append(norm_layer(norm, width, size))
            layers.append(activation_layer(activation))
            layers.append(pooling_layer(pooling))
            in_channels = width
            if pooling != "none":
                size //= 2
        self.features = nn.Sequential(*layers)
        self.embedding_dim = width * size * size
        self.classifier = nn.Linear(self.embedding_dim, num_classes)

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        return self.features(x).flatten(1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.embed(x))


def convnet(channels: int, image_size: int, num_classes: int, **options) -> ConvNet:
    """ConvNet-128, depth 3 (32 px; 28 px padded)."""
    return ConvNet(channels, image_size, num_classes, **options)


def convnet_d4(channels: int, image_size: int, num_classes: int, **options) -> ConvNet:
    """ConvNet depth 4 (64 px, TinyImageNet)."""
    return ConvNet(channels, image_size, num_classes, **{"depth": 4, **options})


def convnet_d5(channels: int, image_size: int, num_classes: int, **options) -> ConvNet:
    """ConvNet depth 5 (128 px, ImageNet subsets)."""
    return ConvNet(channels, image_size, num_classes, **{"depth": 5, **options})


def convnet_d6(channels: int, image_size: int, num_classes: int, **options) -> ConvNet:
    """ConvNet depth 6 (256 px)."""
    return ConvNet(channels, image_size, num_classes, **{"depth": 6, **options})
