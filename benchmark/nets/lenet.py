"""LeNet-5: conv5×5 6 → ReLU → maxpool → conv5×5 16 → ReLU → maxpool → 120 → 84 → classes.

28 px inputs: the first conv pads by 2 so the feature maps match the 32 px ones (decision 2).
"""

from __future__ import annotations

import torch
import torch.nn as nn

from benchmark.errors import UserInputError


class LeNet(nn.Module):
    """LeNet with ``embed`` (the 84 features before the last layer) and a linear classifier."""

    def __init__(self, channels: int, image_size: int, num_classes: int):
        super().__init__()
        first_pad = 2 if image_size == 28 else 0
        size = ((image_size + 2 * first_pad - 4) // 2 - 4) // 2
        if size < 1:
            raise UserInputError(
                f"LeNet needs images of at least 16 px (two valid 5×5 convs), got {image_size}"
            )
        self.body = nn.Sequential(
            nn.Conv2d(channels, 6, 5, padding=first_pad), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2),
            nn.Flatten(),
            nn.Linear(16 * size * size, 120), nn.ReLU(),
            nn.Linear(120, 84), nn.ReLU(),
        )  # fmt: skip
        self.embedding_dim = 84
        self.classifier = nn.Linear(84, num_classes)

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.embed(x))


def lenet(channels: int, image_size: int, num_classes: int, **options) -> LeNet:
    """LeNet-5."""
    return LeNet(channels, image_size, num_classes, **options)
