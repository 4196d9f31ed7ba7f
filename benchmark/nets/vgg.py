"""VGG-11 with instance norm (GroupNorm(c, c), affine), the cross-architecture network of DC/DM.

Config 64 M 128 M 256 256 M 512 512 M 512 512 M of conv3×3 → norm → ReLU; 28 px inputs: the first
conv pads by 3 so the network sees 32 px (decision 2). A 2× max-pool is skipped once the feature map
is 1 px, so small images work; the classifier reads the flattened features.
"""

from __future__ import annotations

import torch
import torch.nn as nn

from benchmark.nets.layers import norm_layer

VGG11 = (64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M")


class VGG(nn.Module):
    """VGG with ``embed`` (flattened features) and a linear classifier."""

    def __init__(
        self, channels: int, image_size: int, num_classes: int, config=VGG11, norm: str = "instancenorm"
    ):
        super().__init__()
        layers: list[nn.Module] = []
        size = image_size + 4 if image_size == 28 else image_size
        in_channels = channels
        for i, item in enumerate(config):
            if item == "M":
                if size >= 2:
                    layers.append(nn.MaxPool2d(2))
                    size //= 2
                continue
            padding = 3 if (i == 0 and image_size == 28) else 1
            layers += [
                nn.Conv2d(in_channels, item, 3, padding=padding),
                norm_layer(norm, item, size),
                nn.ReLU(),
            ]
            in_channels = item
        self.features = nn.Sequential(*layers)
        self.embedding_dim = in_channels * size * size
        self.classifier = nn.Linear(self.embedding_dim, num_classes)

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        return self.features(x).flatten(1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.embed(x))


def vgg11(channels: int, image_size: int, num_classes: int, **options) -> VGG:
    """VGG-11, instance norm."""
    return VGG(channels, image_size, num_classes, **options)
