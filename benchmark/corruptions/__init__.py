"""Corrupted test sets ("-C" benchmarks, docs/protocol.md §9): the official CIFAR-10-C / CIFAR-100-C
files when present, otherwise generated with the ``corrupt-tta`` package for any dataset.

The 15 standard corruptions of Hendrycks & Dietterich (2019) and the 4 extra ones, 5 severities each.
"""

from __future__ import annotations

STANDARD = (
    "gaussian_noise", "shot_noise", "impulse_noise",
    "defocus_blur", "glass_blur", "motion_blur", "zoom_blur",
    "snow", "frost", "fog",
    "brightness", "contrast", "elastic_transform", "pixelate", "jpeg_compression",
)  # fmt: skip
EXTRA = ("speckle_noise", "gaussian_blur", "spatter", "saturate")
ALL = STANDARD + EXTRA
SEVERITIES = (1, 2, 3, 4, 5)

__all__ = ["ALL", "EXTRA", "SEVERITIES", "STANDARD"]
