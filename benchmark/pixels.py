"""The harness's own buffer format: images stored as pixels (kind ``pixels``).

Any strategy may write it (selections, pixel distillation, an outside plugin) with
:func:`pixel_buffer`; :func:`decode_pixels` is its registered decoder. Soft labels, where given, are
stored beside the images (tensor ``soft_labels``, one row per image, counted against the budget).
"""

from __future__ import annotations

import torch

from benchmark.buffer import Buffer, SoftLabels


def pixel_buffer(images: torch.Tensor, classes: list[int], soft_labels: SoftLabels | None = None) -> Buffer:
    """A buffer storing class-major images (the same number per class) as float32 pixels, and
    ``soft_labels`` (one row per image, stored at their own dtype) if given."""
    buffer = Buffer(
        kind="pixels",
        tensors={"images": images.detach().float().cpu().contiguous()},
        manifest={"classes": list(classes), "images_per_class": len(images) // len(classes)},
    )
    if soft_labels is not None:
        if len(soft_labels.values) != len(images) or list(soft_labels.classes) != list(classes):
            raise ValueError(
                f"soft labels for {len(soft_labels.values)} images over classes {list(soft_labels.classes)} "
                f"do not match {len(images)} images over classes {list(classes)}"
            )
        buffer.attach_soft_labels(soft_labels)
    return buffer


def decode_pixels(tensors: dict[str, torch.Tensor], manifest: dict) -> torch.Tensor:
    """``images`` (n, C, H, W), class-major; stored at any float dtype, decoded as float32."""
    return tensors["images"].float()
