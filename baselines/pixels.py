"""The pixel parameterization: the synthetic images themselves are the parameters (naive baseline)."""

from __future__ import annotations

from typing import Any

import torch
import torch.nn as nn

from benchmark.budget import Budget
from benchmark.buffer import Buffer
from benchmark.data.classdata import ClassData
from benchmark.distill.parameterization import Parameterization
from benchmark.pixels import pixel_buffer
from benchmark.seeding import generator as make_generator
from benchmark.spec import Param
from benchmark.strategy import FitContext


def real_images_per_class(data: ClassData, n: int, generator: torch.Generator) -> torch.Tensor:
    """``n`` distinct real training images of each class, class-major."""
    return torch.cat([data.train.sample_class(c, n, generator) for c in data.classes])


class PixelParameterization(Parameterization):
    """ipc images per class as free parameters, initialised from real training images or noise."""

    params = {
        "init": Param(
            "real", "initial images: real training images or Gaussian noise", choices=("real", "noise")
        ),
        "lr_img": Param(1.0, "learning rate of the images", minimum=0.0),
        "momentum_img": Param(0.5, "SGD momentum of the images", minimum=0.0, maximum=1.0),
    }

    def __init__(
        self, data: ClassData, budget: Budget, config: dict[str, Any], seed: int, context: FitContext
    ):
        super().__init__(data, budget, config, seed, context)
        self.ipc = budget.ipc
        rng = make_generator(seed)
        if config["init"] == "real":
            initial = real_images_per_class(data, self.ipc, rng)
        else:
            initial = torch.randn((len(self.classes) * self.ipc, *self.image_shape), generator=rng)
        self.images = nn.Parameter(initial.clone())

    @property
    def images_per_class(self) -> int:
        return self.ipc

    def images_of_class(self, c: int) -> torch.Tensor:
        position = self.classes.index(c)
        return self.images[position * self.ipc : (position + 1) * self.ipc]

    def synthesize(self) -> tuple[torch.Tensor, torch.Tensor]:
        labels = torch.as_tensor(self.classes, device=self.images.device).repeat_interleave(self.ipc)
        return self.images, labels

    def optimizer_groups(self) -> list[dict[str, Any]]:
        return [
            {
                "name": "images",
                "params": [self.images],
                "lr": self.config["lr_img"],
                "momentum": self.config["momentum_img"],
                "optimizer": "sgd",
            }
        ]

    def export(self) -> Buffer:
        return pixel_buffer(self.images, self.classes)
