"""AlexNet as used for cross-architecture evaluation in dataset distillation (a small-image variant).

conv5×5 128 → ReLU → maxpool → conv5×5 192 → ReLU → maxpool → conv3×3 256 → ReLU → conv3×3 192 → ReLU
→ conv3×3 192 → ReLU → maxpool → Linear(192·(s/8)² → classes). 28 px inputs: the first conv pads by 4
so the network sees 32 px (decision 2).
"""

from __future__ import annotations

import torch
import torch.nn as nn

from benchmark.errors import UserInputError


class AlexNet(nn.Module):
    """AlexNet with ``embed`` (flattened features) and a linear classifier."""

    def __init__(self, channels: int, image_size: int, num_classes: int):
        super().__init__()
        if image_size < 8:
            raise UserInputError(
                f"AlexNet needs images of at least 8 px (three 2× poolings), got {image_size}"
            )
        first_pad = 4 if image_size == 28 else 2
        size = image_size + 2 * first_pad - 4
        self.features = nn.Sequential(
            nn.Conv2d(channels, 128, 5, padding=first_pad), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(128, 192, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(192, 256, 3, padding=1), nn.ReLU(),
            nn.Conv2d(256, 192, 3, padding=1), nn.ReLU(),
            nn.Conv2d(192, 192, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        )  # fmt: skip
        size = size // 2 // 2 // 2
        self.embedding_dim = 192 * size * size
        self.classifier = nn.Linear(self.embedding_dim, num_classes)

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        return self.features(x).flatten(1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.embed(x))


def alexnet(channels: int, image_size: int, num_classes: int, **options) -> AlexNet:
    """AlexNet (small-image variant)."""
    return AlexNet(channels, image_size, num_classes, **options)
