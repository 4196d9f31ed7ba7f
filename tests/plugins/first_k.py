"""An outside reference strategy in one file: the first ipc training images of each class."""

import torch

from benchmark.pixels import pixel_buffer
from benchmark.registries import STRATEGIES
from benchmark.strategy import Strategy


class FirstK(Strategy):
    """The first ipc training images of each class; the reference the gains are measured against."""

    name = "first_k"
    role = "reference"

    def fit(self, data, budget, seed, context):
        images = [data.train.of_class(c)[: budget.ipc] for c in data.classes]
        return pixel_buffer(torch.cat(images), data.classes)


STRATEGIES.register("first_k", FirstK)
