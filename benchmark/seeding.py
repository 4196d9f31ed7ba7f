"""Explicit seeds: generators for data order and augmentation, and seeded module construction."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import torch

from benchmark.cache import stable_hash

T = TypeVar("T")


def generator(seed: int) -> torch.Generator:
    """A CPU generator; random numbers are drawn on the CPU and moved, so CPU and GPU agree."""
    return torch.Generator().manual_seed(int(seed))


def derive_seed(*parts: object) -> int:
    """A stable 31-bit seed from any JSON-serialisable parts (e.g. a buffer key and a repeat)."""
    return int(stable_hash(list(parts), length=8), 16) & 0x7FFFFFFF


def seeded(seed: int, build: Callable[[], T]) -> T:
    """Run ``build`` (e.g. a network constructor) under ``seed`` without touching global RNG state."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(int(seed))
        return build()
