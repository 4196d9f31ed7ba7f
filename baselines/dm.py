"""Distribution matching (DM, docs/protocol.md §3): match mean embeddings of a fresh random ConvNet.

Per iteration: a freshly initialised network with frozen weights; for each class one Siamese DSA
draw shared by the real batch and the class's synthetic images; loss = Σ_c ‖mean f(real_c) −
mean f(syn_c)‖².

``normalize`` (not in DM's paper; for SPEED's published SGD rates, which were tuned on TM's
scale-free loss): the mean over classes of ‖mean f(real_c) − mean f(syn_c)‖² / ‖mean f(real_c)‖².
"""

from __future__ import annotations

from typing import Any

import torch

from baselines.searched import searched_quick
from benchmark.augment.dsa import DSA
from benchmark.augment.dsa import check_setting as check_dsa
from benchmark.data.classdata import ClassData
from benchmark.distill.objective import Objective
from benchmark.distill.parameterization import Parameterization
from benchmark.distill.strategy import DistillationStrategy
from benchmark.nets import convnet_for
from benchmark.spec import Param
from benchmark.strategy import FitContext

FORWARD_IMAGES = 1024  # images embedded in one forward pass


def mean_embedding_distance(real: torch.Tensor, synthetic: torch.Tensor) -> torch.Tensor:
    """‖mean(real) − mean(synthetic)‖² of two embedding batches."""
    return ((real.mean(0) - synthetic.mean(0)) ** 2).sum()


class DistributionMatching(Objective):
    """Mean-embedding matching under a fresh random frozen network each iteration."""

    params = {
        "batch_real": Param(256, "real images per class per iteration", minimum=1),
        "dsa": Param("auto", "DSA families, 'auto' (the dataset's own) or 'none'", check=check_dsa),
        "network": Param("ConvNet", "embedding network", registry="NETWORKS"),
        "net_width": Param(128, "embedding network width", minimum=1),
        "normalize": Param(
            False, "scale-free loss: mean over classes of each distance / ‖mean real embedding‖²"
        ),
    }

    @classmethod
    def presets(cls, profile: str, dataset: str, ipc: int) -> dict[str, Any]:
        if profile == "paper":  # the ConvNet of the dataset's resolution (depth 4 at 64 px, 5 at 128 px)
            return {"batch_real": 256, "net_width": 128, "network": convnet_for(dataset)}
        if profile == "smoke":
            return {"batch_real": 16, "net_width": 8}
        # quick: a narrow embedding network and fewer real images fit 2 CPU cores (README says so).
        return {"batch_real": 64, "net_width": 32}

    def __init__(self, data: ClassData, config: dict[str, Any], seed: int, context: FitContext):
        super().__init__(data, config, seed, context)
        families = data.augmentation if config["dsa"] == "auto" else config["dsa"]
        self.dsa = None if families == "none" else DSA(families)
        self.device = context.device

    def loss(self, synthetic: Parameterization, generator: torch.Generator) -> torch.Tensor:
        net = self.random_network(generator)
        net.requires_grad_(False)
        total = torch.zeros((), device=self.device)
        for pairs in self._chunks(self.class_batches(synthetic, generator)):
            # one forward for several classes' real images and one for their synthetic images: the
            # network's norms are per sample, so the embeddings equal per-class forwards (fewer,
            # larger calls); the real images' forward keeps no graph (a joint forward would
            # backpropagate through every real image too)
            reals, syns = [real for real, _ in pairs], [syn for _, syn in pairs]
            with torch.no_grad():
                real_parts = torch.split(net.embed(torch.cat(reals)), [len(t) for t in reals])
            syn_parts = torch.split(net.embed(torch.cat(syns)), [len(t) for t in syns])
            for real_embedding, syn_embedding in zip(real_parts, syn_parts, strict=True):
                distance = mean_embedding_distance(real_embedding, syn_embedding)
                if self.config["normalize"]:
                    distance = distance / (real_embedding.mean(0) ** 2).sum() / len(synthetic.classes)
                total = total + distance
        return total

    @staticmethod
    def _chunks(batches, limit: int = FORWARD_IMAGES):
        """(real, synthetic) pairs of consecutive classes, at most ``limit`` images a chunk (memory)."""
        chunk, size = [], 0
        for _, real, syn in batches:
            if chunk and size + len(real) + len(syn) > limit:
                yield chunk
                chunk, size = [], 0
            chunk.append((real, syn))
            size += len(real) + len(syn)
        if chunk:
            yield chunk


# ---- the registered strategy: pixels × DM ----------------------------------------------------


class DMStrategy(DistillationStrategy):
    """Distribution matching on pixels (Zhao & Bilen, WACV 2023)."""

    name = "dm"
    parameterization = "pixels"
    objective = "dm"

    @classmethod
    def presets(cls, profile: str, dataset: str, ipc: int, given: dict[str, Any]) -> dict[str, Any]:
        preset = super().presets(profile, dataset, ipc, given)
        if profile == "paper":
            return preset | {"iterations": 20000, "lr_img": 10.0 if ipc >= 100 else 1.0}
        if profile == "smoke":
            return preset | {"iterations": 3}
        return preset | {"iterations": 200} | searched_quick(cls.name, dataset, ipc)

    @classmethod
    def original_recipe(cls, config: dict[str, Any], dataset: str, ipc: int) -> dict[str, Any] | None:
        # DM's code: 1000 epochs in its evaluate_synset loop, mean/std data, no ZCA
        return {"epochs": 1000, "schedule": "published", "preprocessing": "meanstd"}
