"""Networks registered by name; every factory takes (channels, image_size, num_classes, **options)."""

from __future__ import annotations

import torch.nn as nn


def create_network(name: str, channels: int, image_size: int, num_classes: int, **options) -> nn.Module:
    """Build a registered network for images of ``channels`` × ``image_size``²."""
    from benchmark.registries import NETWORKS

    return NETWORKS.get(name)(channels, image_size, num_classes, **options)


def check_network(name: str, channels: int, image_size: int, num_classes: int, **options) -> None:
    """One line (UserInputError) when the network cannot be built with ``options`` or cannot take a
    blank batch of this size (e.g. too deep for small images), before any work. The batch has two
    images: instance norm over a 1×1 map needs more than one value per channel, as training has."""
    import torch

    from benchmark.errors import UserInputError, first_line

    try:
        net = create_network(name, channels, image_size, num_classes, **options)
        with torch.no_grad():
            net.eval()(torch.zeros(2, channels, image_size, image_size))
    except UserInputError:
        raise
    except Exception as error:  # any failure to build or run it: the user's choice of network
        reason = first_line(error)
        raise UserInputError(
            f"network {name} (options {options or 'none'}) cannot take {channels}×{image_size}×{image_size} "
            f"images ({type(error).__name__}: {reason}); choose another network or other options"
        ) from None


def parameter_count(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())
