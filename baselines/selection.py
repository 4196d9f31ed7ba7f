"""Selection strategies that need no feature network: ``random`` and the unbudgeted ``whole``."""

from __future__ import annotations

from typing import Any

import torch

from baselines.pixels import real_images_per_class
from benchmark.budget import Budget
from benchmark.buffer import Buffer
from benchmark.data.classdata import ClassData, DatasetOptions
from benchmark.data.load import load_dataset
from benchmark.pixels import pixel_buffer
from benchmark.seeding import generator as make_generator
from benchmark.strategy import FitContext, Strategy


class RandomStrategy(Strategy):
    """ipc real training images per class, uniform without replacement (seeded)."""

    name = "random"
    role = "reference"  # the gains of every table are measured against it (DD-Ranking's idea)

    def fit(self, data: ClassData, budget: Budget, seed: int, context: FitContext) -> Buffer:
        return pixel_buffer(real_images_per_class(data, budget.ipc, make_generator(seed)), data.classes)


class WholeStrategy(Strategy):
    """The full training split: the unbudgeted upper bound, evaluated with its own recipe."""

    name = "whole"
    role = "upper_bound"
    budgeted = False

    @classmethod
    def fixed_recipe(cls, profile: str) -> dict[str, Any]:
        """Plain training for a fixed number of epochs (decision 3); never ranked."""
        return {
            "epochs": 50 if profile == "paper" else 1,
            "dsa": None,
            "name": "whole",
            "use_buffer_lr": False,
        }

    def fit(self, data: ClassData, budget: Budget, seed: int, context: FitContext) -> Buffer:
        # The buffer names the split instead of copying tens of thousands of images.
        return Buffer(
            kind="dataset_split",
            tensors={},
            manifest={"classes": list(data.classes), "split": "train", "source_dataset": data.name},
        )


def decode_dataset_split(
    tensors: dict[str, torch.Tensor], manifest: dict
) -> tuple[torch.Tensor, torch.Tensor]:
    """The named split of the named dataset (default locations), restricted to the manifest's classes."""
    options = DatasetOptions(
        val_fraction=manifest.get("val_fraction", 0.1), split_seed=manifest.get("split_seed", 0)
    )
    data = load_dataset(manifest["source_dataset"], options).restricted_to(manifest["classes"])
    split = getattr(data, manifest["split"])
    return split.images, split.labels
