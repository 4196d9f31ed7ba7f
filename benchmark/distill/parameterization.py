"""The Parameterization contract: a learnable representation of a synthetic set.

Implementations (pixels, SPEED, HaBa) register in ``PARAMETERIZATIONS`` and declare their spec
keys in ``params``. Images come out class-major: ``images_per_class`` images of each class in
``classes`` order, which is also how buffers imply their hard labels.
"""

from __future__ import annotations

from typing import Any, ClassVar

import torch
import torch.nn as nn

from benchmark.budget import Budget
from benchmark.buffer import Buffer
from benchmark.data.classdata import ClassData
from benchmark.spec import Param
from benchmark.strategy import FitContext


class Parameterization(nn.Module):
    """Base class; subclasses build their parameters in ``__init__``."""

    params: ClassVar[dict[str, Param]] = {}

    def __init__(
        self, data: ClassData, budget: Budget, config: dict[str, Any], seed: int, context: FitContext
    ):
        super().__init__()
        self.classes = list(data.classes)
        self.image_shape = tuple(data.image_shape)
        self.config = config

    @property
    def images_per_class(self) -> int:
        raise NotImplementedError

    def images_of_class(self, c: int) -> torch.Tensor:
        """All synthetic images of class ``c`` (differentiable)."""
        raise NotImplementedError

    def synthesize(self) -> tuple[torch.Tensor, torch.Tensor]:
        """(images, labels) of the whole synthetic set, class-major, differentiable."""
        images = torch.cat([self.images_of_class(c) for c in self.classes])
        labels = torch.as_tensor(self.classes, device=images.device).repeat_interleave(self.images_per_class)
        return images, labels

    def optimizer_groups(self) -> list[dict[str, Any]]:
        """Param groups: dicts with ``params``, ``lr``, ``momentum`` and an ``optimizer`` name."""
        raise NotImplementedError

    def regularizer(self) -> torch.Tensor:
        """Added to the matching loss (SPEED: λ Σ|A|)."""
        return torch.zeros(())

    def export(self) -> Buffer:
        """The stored form: kind, tensors and manifest extras (the harness adds the rest)."""
        raise NotImplementedError
