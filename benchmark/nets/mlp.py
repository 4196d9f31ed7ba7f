"""MLP: Linear(C·H·W → 128) → ReLU → Linear(128 → 128) → ReLU → Linear(128 → classes)."""

from __future__ import annotations

import torch
import torch.nn as nn


class MLP(nn.Module):
    """Three-layer perceptron on flattened images."""

    def __init__(self, channels: int, image_size: int, num_classes: int, width: int = 128):
        super().__init__()
        self.body = nn.Sequential(
            nn.Flatten(),
            nn.Linear(channels * image_size * image_size, width),
            nn.ReLU(),
            nn.Linear(width, width),
            nn.ReLU(),
        )
        self.embedding_dim = width
        self.classifier = nn.Linear(width, num_classes)

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.embed(x))


def mlp(channels: int, image_size: int, num_classes: int, **options) -> MLP:
    """MLP 128-128."""
    return MLP(channels, image_size, num_classes, **options)
