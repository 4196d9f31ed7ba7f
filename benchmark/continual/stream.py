"""Class-incremental streams in the class orders of docs/protocol.md §7.

Each step holds the next classes of the order and the indices of their images in index order: the
images avalanche-lib's ``class_incremental_benchmark`` puts in each experience for that class order
(tests check them step by step against it; avalanche lists them class by class). Computed directly,
the main job does not pay avalanche's import (about 6 s).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from benchmark.errors import UserInputError


def class_order(seed: int, num_classes: int) -> list[int]:
    """``numpy.random.seed(seed); numpy.random.permutation(num_classes)`` without global state."""
    return np.random.RandomState(seed).permutation(num_classes).tolist()


@dataclass(frozen=True)
class Step:
    index: int
    classes: tuple[int, ...]  # in class-order order
    train_indices: torch.Tensor  # into the train split
    test_indices: torch.Tensor  # into the test split (this step's classes only)


def class_incremental_steps(
    train_labels: torch.Tensor, test_labels: torch.Tensor, order: list[int], steps: int
) -> list[Step]:
    """The stream's steps: ``steps`` equal groups of classes taken in ``order``."""
    if steps < 1 or len(order) % steps:
        raise UserInputError(
            f"--steps {steps} does not divide the {len(order)} classes evenly; "
            f"choose a divisor of {len(order)}"
        )
    per_step = len(order) // steps
    result = []
    for t in range(steps):
        classes = tuple(order[t * per_step : (t + 1) * per_step])
        chosen = torch.tensor(classes, dtype=train_labels.dtype)
        result.append(
            Step(
                t,
                classes,
                torch.isin(train_labels, chosen).nonzero().flatten(),
                torch.isin(test_labels, chosen).nonzero().flatten(),
            )
        )
    return result
