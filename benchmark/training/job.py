"""What one evaluation network is trained and tested on: a training set and a job.

A :class:`TrainingSet` is images, labels and the learned lr of a buffer (or of a continual memory,
several buffers), with the storage and budget they were counted against. An
:class:`EvaluationJob` is one network trained on it with a recipe and a seed, tested on a split.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from benchmark.data.classdata import ClassData, Split
from benchmark.training.recipe import EvalRecipe


@dataclass(frozen=True)
class TrainingSet:
    images: torch.Tensor
    labels: torch.Tensor
    lr: float | None = None  # the buffer's learned lr, used where the recipe says so
    storage: float | None = None  # float32-equivalents stored
    budget: float | None = None  # None: unbudgeted
    buffer_key: str | None = None  # the buffer the records name (a continual memory: its last step's)
    distill_wall_s: float = 0.0


@dataclass(frozen=True)
class EvaluationJob:
    network: str
    data: ClassData  # the dataset (its preprocessing, augmentation and number of outputs)
    training: TrainingSet
    recipe: EvalRecipe
    seed: int
    test: Split | None = None  # default: the test split of ``data``
