"""The harness's own decoder: stored pixels are the images."""

from __future__ import annotations

import torch


def decode_pixels(tensors: dict[str, torch.Tensor], manifest: dict) -> torch.Tensor:
    """``images`` (n, C, H, W), class-major; stored at any float dtype, decoded as float32."""
    return tensors["images"].float()
