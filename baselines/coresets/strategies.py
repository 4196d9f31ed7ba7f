"""Registered coreset strategies: ``herding``, ``kcenter`` and ``forgetting`` (docs/protocol.md §8).

Each keeps ``budget.ipc`` real training images of every class in ``data.classes`` and stores them
as float32 pixels (already normalised), so its storage equals the budget exactly. The keys
``epochs, subset, width, depth, lr`` configure the feature network they share (see
:mod:`baselines.coresets.feature_network`).
"""

from __future__ import annotations

from typing import Any

import torch

from baselines.coresets import feature_network as fn
from baselines.coresets.forgetting import forgetting_counts, select_most_forgotten
from baselines.coresets.herding import herding_select
from baselines.coresets.kcenter import kcenter_select
from benchmark.budget import Budget
from benchmark.buffer import Buffer
from benchmark.data.classdata import ClassData
from benchmark.errors import UserInputError
from benchmark.pixels import pixel_buffer
from benchmark.progress import progress
from benchmark.seeding import derive_seed
from benchmark.seeding import generator as make_generator
from benchmark.spec import Param
from benchmark.strategy import FitContext, Strategy


class CoresetStrategy(Strategy):
    """Selects ``ipc`` real training images per class; subclasses implement ``select``."""

    params = {
        "epochs": Param(40, "feature network training epochs", minimum=1),
        "subset": Param(0, "training images per class for the feature network (seeded); 0 = all", minimum=0),
        "width": Param(128, "feature network (ConvNet) width", minimum=1),
        "depth": Param(0, "feature network depth; 0 = by image size (features end at 4×4)", minimum=0),
        "lr": Param(0.01, "feature network SGD learning rate", minimum=0.0),
    }

    @classmethod
    def presets(cls, profile: str, dataset: str, ipc: int, given: dict[str, Any]) -> dict[str, Any]:
        if profile == "paper":
            return {}  # the plain defaults: ConvNet-128 trained 40 epochs on the whole training split
        if profile == "smoke":
            return {"width": 8, "epochs": 1, "subset": 20}
        # quick: small enough for 2 CPU cores (about a minute per feature network on Fashion-MNIST).
        return {"width": 32, "epochs": 3, "subset": 500}

    def fit(self, data: ClassData, budget: Budget, seed: int, context: FitContext) -> Buffer:
        for c in data.classes:
            have = len(data.train.class_indices(c))
            if have < budget.ipc:
                raise UserInputError(
                    f"{self.name}: class {c} has only {have} training images, fewer than ipc {budget.ipc}; "
                    "use a smaller --ipc"
                )
        subset = self.config.get("subset", 0)
        if 0 < subset < budget.ipc:
            raise UserInputError(
                f"{self.name}: subset={subset} is smaller than ipc {budget.ipc}; the candidates are the "
                "images the feature network trains on, so use subset=0 (all) or subset >= ipc"
            )
        indices = self.select(data, budget.ipc, seed, context)
        images = data.train.images[indices.to(data.train.images.device)].float()
        return pixel_buffer(images, data.classes)

    def select(self, data: ClassData, ipc: int, seed: int, context: FitContext) -> torch.Tensor:
        """Indices into ``data.train``: ``ipc`` per class of ``data.classes``, class-major."""
        raise NotImplementedError

    def class_features(
        self, data: ClassData, seed: int, context: FitContext
    ) -> list[tuple[torch.Tensor, torch.Tensor]]:
        """(training indices, embeddings) of every class's candidates, from the shared feature network.

        The candidates are the images the feature network trains on: all training images of the
        class, or its seeded ``subset``.
        """
        config = fn.FeatureNetworkConfig.from_strategy(self.config)
        net = fn.feature_network(data, config, seed, context)
        pool = fn.training_indices(data, config.subset, seed)
        pool_labels = data.train.labels.cpu()[pool]
        result = []
        for c in progress(data.classes, desc=f"{self.name}: embed", enabled=context.show_progress):
            indices = pool[pool_labels == c]
            images = data.train.images[indices.to(data.train.images.device)]
            result.append((indices, fn.embed(net, images, context.device)))
        return result


class HerdingStrategy(CoresetStrategy):
    """Herding (textbook argmin) per class in the feature network's embedding space."""

    name = "herding"

    def select(self, data: ClassData, ipc: int, seed: int, context: FitContext) -> torch.Tensor:
        return torch.cat(
            [
                indices[herding_select(features, ipc)]
                for indices, features in self.class_features(data, seed, context)
            ]
        )


class KCenterStrategy(CoresetStrategy):
    """k-center greedy per class in the feature network's embedding space (seeded first centre)."""

    name = "kcenter"

    def select(self, data: ClassData, ipc: int, seed: int, context: FitContext) -> torch.Tensor:
        rng = make_generator(derive_seed("kcenter", seed))
        return torch.cat(
            [
                indices[kcenter_select(features, ipc, rng)]
                for indices, features in self.class_features(data, seed, context)
            ]
        )


class ForgettingStrategy(CoresetStrategy):
    """The most forgotten samples per class (Toneva forgetting events; never learned first)."""

    name = "forgetting"

    def select(self, data: ClassData, ipc: int, seed: int, context: FitContext) -> torch.Tensor:
        config = fn.FeatureNetworkConfig.from_strategy(self.config)
        indices, counts = forgetting_counts(data, config, seed, context)
        return select_most_forgotten(data, indices, counts, ipc)
