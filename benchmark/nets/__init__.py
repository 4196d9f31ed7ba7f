"""Networks registered by name; every factory takes (channels, image_size, num_classes, **options)."""

from __future__ import annotations

import torch.nn as nn


def create_network(name: str, channels: int, image_size: int, num_classes: int, **options) -> nn.Module:
    """Build a registered network for images of ``channels`` × ``image_size``²."""
    from benchmark.registries import NETWORKS

    return NETWORKS.get(name)(channels, image_size, num_classes, **options)


def parameter_count(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())
