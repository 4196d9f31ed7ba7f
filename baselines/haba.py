"""HaBa: bases and hallucinators (Liu et al., NeurIPS 2022; PROTOCOL.md §5), storage counted honestly.

Bases (classes, n, C, H, W) start from real training images. Each of the hallucinators is
Conv2d(C → 3, 3×3, no padding) → × scale + shift (each 3×(H−2)×(W−2), init 1 and 0) →
ConvTranspose2d(3 → C, 3×3), back to C×H×W. ``synthesize()`` applies one hallucinator, drawn
afresh at every call, to every base; so each student step of TM sees one hallucinator.

Storage (decision 3): the bases and the hallucinators' weights are stored, so
n = floor((budget − hallucinator parameters) / (classes·C·H·W)); where n < 1 (IPC 1 at the
reference's sizes) the parameterization raises DoesNotFitError with the numbers.

Diversity term (simplified from the reference, documented): ``regularizer()`` draws two different
hallucinators and a class, and returns ``diversity_weight`` × the mean cosine similarity of the
features of their two outputs of that class's bases, so minimising it pushes the hallucinators
apart. The features come from an adversarial extractor (a narrow ConvNet) that is trained
alongside, one SGD step per call on cross-entropy of real images of that class and of both
hallucinated batches (it learns to see them as the class, while the hallucinators are pushed to
differ in its feature space). The extractor is part of the checkpoint (resume) but not of the buffer.

Draws use a generator seeded by (seed, call count); the count is a buffer in the state dict, so a
resumed run draws the same hallucinators.

The buffer (kind ``haba``) stores ``bases`` and each hallucinator's weights; the ``haba`` decoder
materialises every base × hallucinator image, class-major (within a class: base-major, then
hallucinator), a fixed set like every other buffer (PROTOCOL.md §5).
"""

from __future__ import annotations

import math
from typing import Any

import torch
import torch.nn as nn
import torch.nn.functional as F

from baselines.pixels import real_images_per_class
from benchmark.budget import Budget
from benchmark.buffer import Buffer
from benchmark.data.classdata import ClassData
from benchmark.distill.parameterization import Parameterization
from benchmark.distill.strategy import DistillationStrategy
from benchmark.errors import DoesNotFitError
from benchmark.nets import create_network
from benchmark.seeding import derive_seed, seeded
from benchmark.seeding import generator as make_generator
from benchmark.spec import Param
from benchmark.strategy import FitContext

HALLUCINATOR_KEYS = ("enc_weight", "enc_bias", "scale", "shift", "dec_weight", "dec_bias")


def hallucinate(x: torch.Tensor, weights: dict[str, torch.Tensor]) -> torch.Tensor:
    """conv (no padding) → × scale + shift → transposed conv; the module and the decoder share it."""
    h = F.conv2d(x, weights["enc_weight"], weights["enc_bias"])
    h = h * weights["scale"] + weights["shift"]
    return F.conv_transpose2d(h, weights["dec_weight"], weights["dec_bias"])


def hallucinator_size(image_shape: tuple[int, int, int]) -> int:
    """Parameters of one hallucinator (5,568 at 3×32×32)."""
    c, h, w = image_shape
    return (3 * c * 9 + 3) + 2 * 3 * (h - 2) * (w - 2) + (3 * c * 9 + c)


def bases_per_class(budget: Budget, hallucinators: int) -> int:
    """Bases per class that fit beside the hallucinators; DoesNotFitError when not even one does."""
    per_base = budget.num_classes * budget.floats_per_image
    fixed = hallucinators * hallucinator_size(budget.image_shape)
    n = (budget.floats - fixed) // per_base
    if n < 1:
        smallest = math.ceil((fixed + per_base) / per_base)
        raise DoesNotFitError(
            f"haba does not fit ipc {budget.ipc}: its {hallucinators} hallucinators alone store {fixed} "
            f"float32-equivalents, leaving less than one base per class within the budget of "
            f"{budget.floats}; use ipc >= {smallest} or fewer hallucinators",
            numbers={"storage_needed": fixed + per_base, "budget": budget.floats},
        )
    return int(n)


class Hallucinator(nn.Module):
    def __init__(self, image_shape: tuple[int, int, int]):
        super().__init__()
        c, h, w = image_shape
        enc = nn.Conv2d(c, 3, 3)
        dec = nn.ConvTranspose2d(3, c, 3)
        self.enc_weight, self.enc_bias = enc.weight, enc.bias
        self.scale = nn.Parameter(torch.ones(3, h - 2, w - 2))
        self.shift = nn.Parameter(torch.zeros(3, h - 2, w - 2))
        self.dec_weight, self.dec_bias = dec.weight, dec.bias

    def weights(self) -> dict[str, torch.Tensor]:
        return {key: getattr(self, key) for key in HALLUCINATOR_KEYS}

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return hallucinate(x, self.weights())


class HabaParameterization(Parameterization):
    params = {
        "hallucinators": Param(5, "number of hallucinators", minimum=1),
        "init": Param("real", "initial bases: real training images or noise", choices=("real", "noise")),
        "lr_bases": Param(100.0, "SGD lr of the bases", minimum=0.0),
        "lr_hallucinators": Param(100.0, "SGD lr of the hallucinators", minimum=0.0),
        "momentum_haba": Param(0.95, "SGD momentum of bases and hallucinators", minimum=0.0, maximum=1.0),
        "diversity_weight": Param(0.1, "weight of the hallucinator diversity term", minimum=0.0),
        "extractor_width": Param(32, "width of the adversarial feature extractor (ConvNet)", minimum=1),
        "lr_extractor": Param(0.01, "SGD lr of the feature extractor", minimum=0.0),
        "batch_extractor": Param(64, "real images per extractor step", minimum=1),
    }

    def __init__(
        self, data: ClassData, budget: Budget, config: dict[str, Any], seed: int, context: FitContext
    ):
        super().__init__(data, budget, config, seed, context)
        count = config["hallucinators"]
        self.n = bases_per_class(budget, count)
        self.seed = seed
        self.data = data
        rng = make_generator(derive_seed("haba", "init", seed))
        if config["init"] == "real":
            initial = real_images_per_class(data, self.n, rng)
        else:
            initial = torch.randn((len(self.classes) * self.n, *self.image_shape), generator=rng)
        self.bases = nn.Parameter(initial.reshape(len(self.classes), self.n, *self.image_shape).clone())
        self.hallucinators = seeded(
            derive_seed("haba", "hallucinators", seed),
            lambda: nn.ModuleList(Hallucinator(self.image_shape) for _ in range(count)),
        )
        self.extractor = seeded(
            derive_seed("haba", "extractor", seed),
            lambda: create_network(
                "ConvNet", data.channels, data.image_size, data.num_classes, width=config["extractor_width"]
            ),
        )
        self.extractor.requires_grad_(False)
        self.register_buffer("calls", torch.zeros((), dtype=torch.long))

    # ---- draws ---------------------------------------------------------------------------
    def _generator(self) -> torch.Generator:
        self.calls += 1
        return make_generator(derive_seed("haba", "draw", self.seed, int(self.calls)))

    def _draw_hallucinator(self) -> Hallucinator:
        index = int(torch.randint(len(self.hallucinators), (1,), generator=self._generator()))
        return self.hallucinators[index]

    # ---- the synthetic set ---------------------------------------------------------------
    @property
    def images_per_class(self) -> int:
        return self.n

    def images_of_class(self, c: int) -> torch.Tensor:
        return self._draw_hallucinator()(self.bases[self.classes.index(c)])

    def synthesize(self) -> tuple[torch.Tensor, torch.Tensor]:
        images = self._draw_hallucinator()(self.bases.flatten(0, 1))
        labels = torch.as_tensor(self.classes, device=images.device).repeat_interleave(self.n)
        return images, labels

    def all_images(self) -> torch.Tensor:
        """Every base × hallucinator image, class-major (base-major, then hallucinator, within a class)."""
        return materialize(self.bases, [h.weights() for h in self.hallucinators])

    def optimizer_groups(self) -> list[dict[str, Any]]:
        momentum = self.config["momentum_haba"]
        return [
            {"name": "bases", "params": [self.bases], "lr": self.config["lr_bases"], "momentum": momentum},
            {
                "name": "hallucinators",
                "params": list(self.hallucinators.parameters()),
                "lr": self.config["lr_hallucinators"],
                "momentum": momentum,
            },
        ]

    # ---- diversity -----------------------------------------------------------------------
    def regularizer(self) -> torch.Tensor:
        weight = self.config["diversity_weight"]
        if weight == 0 or len(self.hallucinators) < 2:
            return torch.zeros((), device=self.bases.device)
        rng = self._generator()
        first, second = torch.randperm(len(self.hallucinators), generator=rng)[:2].tolist()
        position = int(torch.randint(len(self.classes), (1,), generator=rng))
        bases = self.bases[position]
        out_a, out_b = self.hallucinators[first](bases), self.hallucinators[second](bases)
        self._train_extractor(position, out_a.detach(), out_b.detach(), rng)
        feat_a, feat_b = self.extractor.embed(out_a), self.extractor.embed(out_b)
        return weight * F.cosine_similarity(feat_a, feat_b, dim=1).mean()

    def _train_extractor(self, position, out_a, out_b, rng) -> None:
        c = self.classes[position]
        real = self.data.train.sample_class(c, self.config["batch_extractor"], rng).to(self.bases.device)
        x = torch.cat([real, out_a, out_b])
        y = torch.full((len(x),), c, dtype=torch.long, device=x.device)
        params = list(self.extractor.parameters())
        with torch.enable_grad():
            for p in params:
                p.requires_grad_(True)
            grads = torch.autograd.grad(F.cross_entropy(self.extractor(x), y), params)
            for p in params:
                p.requires_grad_(False)
        with torch.no_grad():
            for p, g in zip(params, grads, strict=True):
                p.sub_(self.config["lr_extractor"] * g)

    # ---- export --------------------------------------------------------------------------
    def export(self) -> Buffer:
        tensors = {"bases": self.bases.detach().float().cpu().contiguous()}
        for i, h in enumerate(self.hallucinators):
            for key, value in h.weights().items():
                tensors[f"hallucinator{i}.{key}"] = value.detach().float().cpu().contiguous()
        manifest = {
            "classes": list(self.classes),
            "bases_per_class": self.n,
            "hallucinators": len(self.hallucinators),
            "images_per_class": self.n * len(self.hallucinators),
        }
        return Buffer(kind="haba", tensors=tensors, manifest=manifest)


def materialize(bases: torch.Tensor, hallucinators: list[dict[str, torch.Tensor]]) -> torch.Tensor:
    classes, n = bases.shape[:2]
    flat = bases.flatten(0, 1)
    outs = torch.stack([hallucinate(flat, w) for w in hallucinators], dim=1)  # (classes·n, H, C, h, w)
    return outs.reshape(classes * n * len(hallucinators), *bases.shape[2:])


def decode_haba(tensors: dict[str, torch.Tensor], manifest: dict) -> torch.Tensor:
    """Every base × hallucinator image, class-major (base-major, then hallucinator, within a class)."""
    count = int(manifest["hallucinators"])
    weights = [
        {key: tensors[f"hallucinator{i}.{key}"].float() for key in HALLUCINATOR_KEYS} for i in range(count)
    ]
    return materialize(tensors["bases"].float(), weights)


# ---- the registered strategy: HaBa × TM (or any objective) ---------------------------------------


class HabaStrategy(DistillationStrategy):
    """HaBa: bases and hallucinators (Liu et al., NeurIPS 2022), TM by default, any objective allowed."""

    name = "haba"
    parameterization = "haba"
    objective = None
    default_objective = "tm"

    @classmethod
    def presets(cls, profile: str, dataset: str, ipc: int, given: dict[str, Any]) -> dict[str, Any]:
        preset = super().presets(profile, dataset, ipc, given)
        if cls.objective_name(given) == "tm":
            preset["momentum_lr"] = 0.9  # HaBa's code: α's SGD momentum (PROTOCOL.md §12)
        if profile == "paper":
            return preset | {"iterations": 5000}
        # quick: n × classes images per hallucinator draw; TM steps on 32 of them at a time.
        quick_tm = {"batch_syn": 32} if cls.objective_name(given) == "tm" else {}
        return preset | quick_tm | {"iterations": 3 if profile == "smoke" else 100}

    @classmethod
    def original_recipe(cls, config: dict[str, Any], dataset: str, ipc: int) -> dict[str, Any] | None:
        return {"standardize": True}  # HaBa's code standardises every batch (PROTOCOL.md §12)
