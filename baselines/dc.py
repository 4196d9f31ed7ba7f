"""Gradient matching: DC and DSA (docs/protocol.md §2).

Layer distance: conv weights reshaped to (out, in·h·w), linear weights (out, in); the distance is
Σ over rows of (1 − cos(g_syn_row, g_real_row)) (cosine with the reference's 1e-6 in the
denominator); 1-D parameters (biases, norms) contribute nothing. The loss of one outer step is
Σ over classes Σ over layers of that distance, between the gradient of CE on ``batch_real`` real
images of the class (detached) and on the class's synthetic images (graph kept).

How this maps on the generic loop (one optimizer step per ``loss()`` call): **one ``loss()`` call
is one outer step**, and the objective keeps the network between calls. A fresh network is drawn
every ``outer_loop`` calls; at the start of each later call of the same network, the network is
first trained ``inner_loop`` epochs on the (just updated) synthetic set — the reference's order
(match → update images → train the network), except that the network is not trained after the
last outer step, which the reference does not use either. So the loop's ``iterations`` count outer
steps: the reference's 1000 iterations at IPC 10 are ``iterations = 1000 × 10``. The network, its
position in the outer loop and the shuffling state are in ``state_dict`` (checkpoint resume).

``dsa`` applies one Siamese DSA draw to the real and synthetic images of each class term, and
per-sample DSA when training the network in the inner loop (as the DSA reference does).
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn as nn
import torch.nn.functional as F

from baselines.searched import searched_quick
from benchmark.augment.dsa import DSA
from benchmark.augment.dsa import check_setting as check_dsa
from benchmark.data.classdata import ClassData
from benchmark.distill.objective import Objective
from benchmark.distill.parameterization import Parameterization
from benchmark.distill.strategy import DistillationStrategy
from benchmark.nets import convnet_for, create_network
from benchmark.spec import Param
from benchmark.strategy import FitContext

# (outer_loop, inner_loop) by images per class, from the DC reference.
LOOPS = {1: (1, 1), 10: (10, 50), 20: (20, 25), 30: (30, 20), 40: (40, 15), 50: (50, 10)}
EPSILON = 1e-6


def loops_for_ipc(ipc: int) -> tuple[int, int]:
    """The reference's (outer_loop, inner_loop) for ``ipc``; between rows, the row below it."""
    return LOOPS[max(k for k in LOOPS if k <= ipc)] if ipc >= 1 else LOOPS[1]


def layer_distance(g_real: torch.Tensor, g_syn: torch.Tensor) -> torch.Tensor:
    """Σ over output rows of (1 − cos); 0 for 1-D parameters."""
    if g_real.dim() == 1:
        return torch.zeros((), device=g_syn.device, dtype=g_syn.dtype)
    real = g_real.reshape(g_real.shape[0], -1)
    syn = g_syn.reshape(g_syn.shape[0], -1)
    cos = (real * syn).sum(-1) / (real.norm(dim=-1) * syn.norm(dim=-1) + EPSILON)
    return (1 - cos).sum()


def gradient_distance(g_real: list[torch.Tensor], g_syn: list[torch.Tensor]) -> torch.Tensor:
    """Σ over layers of :func:`layer_distance`."""
    return sum((layer_distance(r, s) for r, s in zip(g_real, g_syn, strict=True)), torch.zeros(()))


class GradientMatching(Objective):
    """DC: gradient matching without augmentation (``dsa`` = 'none')."""

    default_dsa = "none"
    params = {
        "batch_real": Param(256, "real images per class per outer step", minimum=1),
        "outer_loop": Param(
            0, "outer steps per network; 0 = by images per class (reference table)", minimum=0
        ),
        "inner_loop": Param(0, "network epochs between outer steps; 0 = by images per class", minimum=0),
        "network": Param("ConvNet", "matching network", registry="NETWORKS"),
        "net_width": Param(128, "matching network width", minimum=1),
        "lr_net": Param(0.01, "SGD lr of the matching network (no momentum)", minimum=0.0),
        "batch_train": Param(256, "batch size of the inner-loop training", minimum=1),
        "dsa": Param("none", "DSA families, 'auto' (the dataset's) or 'none'", check=check_dsa),
    }

    @classmethod
    def presets(cls, profile: str, dataset: str, ipc: int) -> dict[str, Any]:
        outer, inner = loops_for_ipc(ipc)
        if profile == "paper":  # the ConvNet of the dataset's resolution (depth 4 at 64 px, 5 at 128 px)
            return {"batch_real": 256, "net_width": 128, "outer_loop": outer, "inner_loop": inner,
                    "network": convnet_for(dataset)}  # fmt: skip
        if profile == "smoke":
            return {"batch_real": 16, "net_width": 8, "outer_loop": min(outer, 2), "inner_loop": 1}
        # quick: a narrow network, 64 real images per class, at most 5 inner epochs.
        return {"batch_real": 64, "net_width": 32, "outer_loop": outer, "inner_loop": min(inner, 5)}

    def __init__(self, data: ClassData, config: dict[str, Any], seed: int, context: FitContext):
        super().__init__(data, config, seed, context)
        self.device = context.device
        name = config["dsa"]
        self.dsa = None if name == "none" else DSA(data.augmentation if name == "auto" else name)
        self.net: nn.Module | None = None
        self.step_in_outer = 0  # outer steps already taken with the current network

    def loops(self, synthetic: Parameterization) -> tuple[int, int]:
        outer, inner = loops_for_ipc(synthetic.images_per_class)
        return self.config["outer_loop"] or outer, self.config["inner_loop"] or inner

    def train_network(self, synthetic: Parameterization, epochs: int, generator: torch.Generator) -> None:
        images, labels = synthetic.synthesize()
        images, labels = images.detach(), labels.to(self.device)
        optimizer = torch.optim.SGD(self.net.parameters(), lr=self.config["lr_net"], momentum=0.0)
        for _ in range(epochs):
            order = torch.randperm(len(labels), generator=generator).to(self.device)
            for start in range(0, len(labels), self.config["batch_train"]):
                batch = order[start : start + self.config["batch_train"]]
                x = images[batch]
                if self.dsa is not None:
                    x = self.dsa(x, generator)
                loss = F.cross_entropy(self.net(x), labels[batch])
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()

    def loss(self, synthetic: Parameterization, generator: torch.Generator) -> torch.Tensor:
        outer, inner = self.loops(synthetic)
        if self.net is None or self.step_in_outer >= outer:
            self.net, self.step_in_outer = self.random_network(generator), 0
        elif inner > 0:
            self.train_network(synthetic, inner, generator)
        self.step_in_outer += 1
        params = [p for p in self.net.parameters() if p.dim() > 1]
        total = torch.zeros((), device=self.device)
        for c, real, syn in self.class_batches(synthetic, generator):
            y_real = torch.full((len(real),), c, device=self.device, dtype=torch.long)
            y_syn = torch.full((len(syn),), c, device=self.device, dtype=torch.long)
            g_real = torch.autograd.grad(F.cross_entropy(self.net(real), y_real), params)
            g_real = [g.detach() for g in g_real]
            g_syn = torch.autograd.grad(F.cross_entropy(self.net(syn), y_syn), params, create_graph=True)
            total = total + gradient_distance(g_real, list(g_syn)).to(self.device)
        return total

    def state_dict(self) -> dict[str, Any]:
        state: dict[str, Any] = {"step_in_outer": torch.tensor(self.step_in_outer)}
        if self.net is not None:
            state["net"] = {k: v.detach().cpu().clone() for k, v in self.net.state_dict().items()}
        return state

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.step_in_outer = int(state["step_in_outer"])
        if "net" in state:
            with torch.random.fork_rng(devices=[]):
                self.net = create_network(
                    self.config["network"],
                    self.data.channels,
                    self.data.image_size,
                    self.data.num_classes,
                    width=self.config["net_width"],
                ).to(self.device)
            self.net.load_state_dict(state["net"])
            self.net.train()


class DSAGradientMatching(GradientMatching):
    """DSA: gradient matching with Siamese differentiable augmentation."""

    params = dict(GradientMatching.params) | {
        "dsa": Param("auto", "DSA families, 'auto' (the dataset's) or 'none'", check=check_dsa),
    }


__all__ = ["GradientMatching", "DSAGradientMatching", "gradient_distance", "layer_distance", "loops_for_ipc"]


# ---- the registered strategies: pixels × DC, pixels × DSA ---------------------------------------


def _gradient_matching_presets(profile: str, ipc: int) -> dict[str, Any]:
    common = {"lr_img": 0.1, "momentum_img": 0.5}
    if profile == "paper":
        # The loop's iterations count outer steps (one synthetic update each): 1000 × outer_loop.
        return common | {"iterations": 1000 * loops_for_ipc(ipc)[0]}
    return common | {"iterations": 3 if profile == "smoke" else 200}


class DCStrategy(DistillationStrategy):
    """Gradient matching on pixels (Zhao et al., ICLR 2021)."""

    name = "dc"
    parameterization = "pixels"
    objective = "dc"

    @classmethod
    def presets(cls, profile: str, dataset: str, ipc: int, given: dict[str, Any]) -> dict[str, Any]:
        preset = super().presets(profile, dataset, ipc, given) | _gradient_matching_presets(profile, ipc)
        return preset | searched_quick(cls.name, dataset, ipc) if profile == "quick" else preset

    @classmethod
    def original_recipe(cls, config: dict[str, Any], dataset: str, ipc: int) -> dict[str, Any] | None:
        # DC's evaluation: no augmentation, 300 epochs, mean/std data, its evaluate_synset loop
        return {"dsa": None, "epochs": 300, "schedule": "published", "preprocessing": "meanstd"}


class DSAStrategy(DCStrategy):
    """Gradient matching with Siamese augmentation on pixels (Zhao & Bilen, ICML 2021)."""

    name = "dsa"
    objective = "dsa"

    @classmethod
    def original_recipe(cls, config: dict[str, Any], dataset: str, ipc: int) -> dict[str, Any] | None:
        # DSA's evaluation: DSA per sample, 1000 epochs, mean/std data, its evaluate_synset loop
        return {"dsa": "auto", "epochs": 1000, "schedule": "published", "preprocessing": "meanstd"}
