"""The Objective contract: a matching loss between a parameterization and real data.

Implementations (DM, DC/DSA, TM) register in ``OBJECTIVES`` and declare their spec keys.
"""

from __future__ import annotations

from typing import Any, ClassVar

import torch

from benchmark.data.classdata import ClassData
from benchmark.distill.parameterization import Parameterization
from benchmark.nets import create_network
from benchmark.seeding import seeded
from benchmark.spec import Param
from benchmark.strategy import FitContext


class Objective:
    """Base class; ``prepare`` may build cached artefacts (e.g. expert trajectories)."""

    params: ClassVar[dict[str, Param]] = {}

    def __init__(self, data: ClassData, config: dict[str, Any], seed: int, context: FitContext):
        self.data = data
        self.config = config
        self.seed = seed
        self.context = context

    @classmethod
    def presets(cls, profile: str, dataset: str, ipc: int) -> dict[str, Any]:
        """The objective's own defaults for (profile, dataset, ipc), shared by every strategy using it."""
        return {}

    def random_network(self, generator: torch.Generator) -> torch.nn.Module:
        """A freshly initialised ``config["network"]`` of width ``config["net_width"]``, seeded from
        ``generator`` (DM draws one per iteration, DC/DSA one per outer loop)."""
        seed = int(torch.randint(2**31 - 1, (1,), generator=generator))
        data = self.data
        build = lambda: create_network(  # noqa: E731
            self.config["network"], data.channels, data.image_size, data.num_classes,
            width=self.config["net_width"],
        )  # fmt: skip
        return seeded(seed, build).to(self.context.device).train()

    def class_batches(self, synthetic: Parameterization, generator: torch.Generator):
        """Per class: (class, real batch of ``batch_real``, its synthetic images), with one Siamese DSA
        draw shared by both when the objective has ``self.dsa`` (DM, DSA)."""
        for c in synthetic.classes:
            real = self.data.train.sample_class(c, self.config["batch_real"], generator).to(
                self.context.device
            )
            syn = synthetic.images_of_class(c)
            if getattr(self, "dsa", None) is not None:
                real, syn = self.dsa.siamese([real, syn], generator)
            yield c, real, syn

    def loss(self, synthetic: Parameterization, generator: torch.Generator) -> torch.Tensor:
        raise NotImplementedError

    def optimizer_groups(self) -> list[dict[str, Any]]:
        """Extra learnable things the objective owns (TM's learned lr α)."""
        return []

    def learned_lr(self) -> float | None:
        """The training lr to store in the buffer, if the objective learns one."""
        return None

    def after_step(self) -> None:
        """Called after each optimizer step (e.g. clip α ≥ 0.001)."""

    def state_dict(self) -> dict[str, Any]:
        return {}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore what ``state_dict`` returned (checkpoint resume)."""
