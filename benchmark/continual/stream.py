"""Class-incremental streams built with avalanche-lib, in the class orders of PROTOCOL.md §7.

The avalanche benchmark is built over index datasets (each item is its own index and label), so
each experience tells exactly which images of our splits belong to it without copying images.
"""

from __future__ import annotations

import warnings
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


class _IndexDataset(torch.utils.data.Dataset):
    def __init__(self, labels: torch.Tensor):
        self.targets = labels.tolist()

    def __len__(self) -> int:
        return len(self.targets)

    def __getitem__(self, i: int):
        return i, self.targets[i]


def _indices(dataset) -> torch.Tensor:
    loader = torch.utils.data.DataLoader(dataset, batch_size=len(dataset) or 1)
    return torch.cat([batch[0] for batch in loader]) if len(dataset) else torch.empty(0, dtype=torch.long)


def class_incremental_steps(
    train_labels: torch.Tensor, test_labels: torch.Tensor, order: list[int], steps: int
) -> list[Step]:
    """The stream's steps: avalanche's ``class_incremental_benchmark`` with a fixed class order."""
    if steps < 1 or len(order) % steps:
        raise UserInputError(
            f"--steps {steps} does not divide the {len(order)} classes evenly; "
            f"choose a divisor of {len(order)}"
        )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # avalanche warns about optional solvers it does not need
        from avalanche.benchmarks.scenarios.supervised import class_incremental_benchmark

    scenario = class_incremental_benchmark(
        {"train": _IndexDataset(train_labels), "test": _IndexDataset(test_labels)},
        class_order=list(order),
        num_experiences=steps,
    )
    per_step = len(order) // steps
    result = []
    for train_exp, test_exp in zip(scenario.train_stream, scenario.test_stream, strict=True):
        t = train_exp.current_experience
        classes = tuple(order[t * per_step : (t + 1) * per_step])
        if set(train_exp.classes_in_this_experience) != set(classes):
            raise RuntimeError(
                f"avalanche step {t} holds {train_exp.classes_in_this_experience}, not {classes}"
            )
        result.append(Step(t, classes, _indices(train_exp.dataset), _indices(test_exp.dataset)))
    return result
