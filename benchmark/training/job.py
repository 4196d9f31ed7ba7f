"""What one evaluation network is trained and tested on: a training set and a job.

A :class:`TrainingSet` is images, labels (and soft labels where the buffer stores them) and the
learned lr of a buffer (or of a continual memory, several buffers), with the storage and budget they
were counted against. An
:class:`EvaluationJob` is one network trained on it with a recipe and a seed, tested on a split.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from benchmark.buffer import Buffer, SoftLabels
from benchmark.data.classdata import ClassData, Split
from benchmark.errors import UserInputError
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
    soft_labels: SoftLabels | None = None  # one row per image; None: train on the hard labels

    @classmethod
    def of(cls, buffer: Buffer, device: torch.device | str = "cpu", **extra) -> TrainingSet:
        """A buffer's decoded images, labels, learned lr, storage and soft labels (``extra``: the
        budget, key and distillation time a record names)."""
        images, labels, lr = buffer.materialize(device)
        return cls(images, labels, lr, buffer.storage, soft_labels=buffer.soft_labels, **extra)


def joined_soft_labels(sets: list[TrainingSet]) -> SoftLabels | None:
    """The soft labels of the training sets concatenated (a continual memory), over the classes of
    all of them: each set's targets keep probability 0 for the classes it does not cover, a set
    without soft labels contributes its hard labels as one-hot rows. None if no set has soft labels.
    The sets must agree on the temperature (it softens the network's outputs too)."""
    soft = [s.soft_labels for s in sets if s.soft_labels is not None]
    if not soft:
        return None
    temperatures = {labels.temperature for labels in soft}
    if len(temperatures) > 1:
        raise UserInputError(f"cannot train on soft labels at several temperatures {sorted(temperatures)}")
    classes = sorted({int(c) for s in sets for c in s.labels.tolist()} | {c for x in soft for c in x.classes})
    column = {c: j for j, c in enumerate(classes)}
    rows = []
    for part in sets:
        if part.soft_labels is None:
            one_hot = torch.zeros(len(part.labels), len(classes))
            one_hot[torch.arange(len(part.labels)), [column[int(c)] for c in part.labels.tolist()]] = 1
            rows.append(one_hot)
        else:
            rows.append(part.soft_labels.targets(max(classes) + 1).cpu()[:, classes])
    return SoftLabels(torch.cat(rows), tuple(classes), "probabilities", temperatures.pop())


@dataclass(frozen=True)
class EvaluationJob:
    network: str
    data: ClassData  # the dataset (its preprocessing, augmentation and number of outputs)
    training: TrainingSet
    recipe: EvalRecipe
    seed: int
    test: Split | None = None  # default: the test split of ``data``
