"""Networks registered by name; every factory takes (channels, image_size, num_classes, **options)."""

from __future__ import annotations

import torch.nn as nn


def create_network(name: str, channels: int, image_size: int, num_classes: int, **options) -> nn.Module:
    """Build a registered network for images of ``channels`` × ``image_size``²."""
    from benchmark.registries import NETWORKS

    return NETWORKS.get(name)(channels, image_size, num_classes, **options)


# The published protocols' ConvNet by image side (docs/protocol.md §0): each block halves the side, so
# depth d leaves 4×4 features at 2^(d+2) px.
CONVNET_BY_SIDE = ((32, "ConvNet"), (64, "ConvNetD4"), (128, "ConvNetD5"), (256, "ConvNetD6"))


def convnet_for(dataset: str) -> str:
    """The ConvNet MTT, SPEED (and DM/DC at these sizes) use at ``dataset``'s resolution: ``ConvNet``
    (depth 3) up to 32 px, ``ConvNetD4`` at 64 px, ``ConvNetD5`` at 128 px, ``ConvNetD6`` beyond; a
    dataset registered without a ``shape`` gets ``ConvNet``."""
    from benchmark.registries import DATASETS

    shape = DATASETS.info(dataset).get("shape") if dataset in DATASETS else None
    if shape is None:
        return "ConvNet"
    side = max(shape[1:])
    return next((name for limit, name in CONVNET_BY_SIDE if side <= limit), CONVNET_BY_SIDE[-1][1])


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
