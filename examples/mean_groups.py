"""A complete strategy plugin: each stored image is the mean of a random group of real images."""

import torch

from benchmark.pixels import pixel_buffer
from benchmark.registries import STRATEGIES
from benchmark.seeding import generator
from benchmark.spec import Param
from benchmark.strategy import Strategy


class MeanGroups(Strategy):
    """ipc images per class, each the average of `group` random real images of that class."""

    name = "mean_groups"
    params = {"group": Param(8, "real images averaged into one stored image", minimum=1)}

    @classmethod
    def presets(cls, profile, dataset, ipc, given, classes=None):
        # classes: the class count of the fit (a continual step's); a method may size itself to it
        return {"group": 32} if profile == "paper" else {}

    def fit(self, data, budget, seed, context):
        rng = generator(seed)
        images = []
        for c in data.classes:
            real = data.train.sample_class(c, budget.ipc * self.config["group"], rng)
            images.append(real.reshape(budget.ipc, -1, *real.shape[1:]).mean(dim=1))
        return pixel_buffer(torch.cat(images), data.classes)


STRATEGIES.register("mean_groups", MeanGroups)
