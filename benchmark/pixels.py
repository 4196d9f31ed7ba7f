"""The harness's own buffer format: images stored as pixels (kind ``pixels``).

Any strategy may write it (selections, pixel distillation, an outside plugin) with
:func:`pixel_buffer`; :func:`decode_pixels` is its registered decoder.
"""

from __future__ import annotations

import torch

from benchmark.buffer import Buffer


def pixel_buffer(images: torch.Tensor, classes: list[int]) -> Buffer:
    """A buffer storing class-major images (the same number per class) as float32 pixels."""
    return Buffer(
        kind="pixels",
        tensors={"images": images.detach().float().cpu().contiguous()},
        manifest={"classes": list(classes), "images_per_class": len(images) // len(classes)},
    )


def decode_pixels(tensors: dict[str, torch.Tensor], manifest: dict) -> torch.Tensor:
    """``images`` (n, C, H, W), class-major; stored at any float dtype, decoded as float32."""
    return tensors["images"].float()
