"""The device is chosen once (``--device auto|cpu|cuda``) and passed down."""

from __future__ import annotations

import torch

from benchmark.errors import UserInputError

CHOICES = ("auto", "cpu", "cuda")


def resolve_device(name: str) -> torch.device:
    if name not in CHOICES and not name.startswith("cuda:"):
        raise UserInputError(f"unknown device {name!r}; choose one of {', '.join(CHOICES)}")
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise UserInputError(f"device {name!r} was asked for but CUDA is not available; use --device cpu")
    return torch.device(name)
