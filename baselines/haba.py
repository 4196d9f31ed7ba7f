"""HaBa: bases and hallucinators (Liu et al., NeurIPS 2022; docs/haba.md), storage counted honestly.

Bases (classes, n, C, H, W) start from real training images. Each of the hallucinators is
Conv2d(C → 3, 3×3, no padding) → × scale + shift (each 3×(H−2)×(W−2), init 1 and 0) →
ConvTranspose2d(3 → C, 3×3), back to C×H×W. ``synthesize()`` applies one hallucinator, drawn
afresh at every call, to every base (TM calls it once per iteration; the published code draws one
per student step).

Storage (decision 3): the bases and the hallucinators' weights are stored, so
n = floor((budget − hallucinator parameters) / (classes·C·H·W)); where n < 1 (IPC 1 at the
reference's sizes) the parameterization raises DoesNotFitError with the numbers.

Adversarial diversity, as the published code computes it (docs/haba.md has the formulas):
- ``regularizer()`` returns λ·mean((cos(f(h_i(b)), f(h_j(b))) + 1) / 2) for a batch b of bases
  (every base by default), two distinct hallucinators i ≠ j and per-sample DSA of both outputs;
  f = the flattened features of a frozen extractor. It reaches the bases and the hallucinators.
- The extractor (a ConvNet) learns to see both outputs as one: λ_ce·CE + λ_l·mean((1 − cos) / 2)
  + λ_c·SupCon of the two views of a fresh batch and pair, one SGD step with momentum. The published
  code takes that step right after the bases' step; here it opens the next ``regularizer()`` call
  (the bases are then exactly the stepped ones), which gives the same sequence of updates.
The extractor and its velocities are part of the checkpoint (resume), never of the buffer.

Draws use a generator seeded by (seed, call count); the counts are buffers in the state dict, so a
resumed run draws the same hallucinators.

The buffer (kind ``haba``) stores ``bases`` and each hallucinator's weights; the ``haba`` decoder
materialises every base × hallucinator image, class-major (within a class: base-major, then
hallucinator), a fixed set like every other buffer (docs/protocol.md §5).
"""

from __future__ import annotations

import math
from typing import Any

import torch
import torch.nn as nn
import torch.nn.functional as F

from baselines.pixels import real_images_per_class
from benchmark.augment.dsa import DSA
from benchmark.augment.dsa import check_setting as check_dsa
from benchmark.budget import Budget
from benchmark.buffer import Buffer
from benchmark.data.classdata import ClassData
from benchmark.distill.parameterization import Parameterization
from benchmark.distill.strategy import DistillationStrategy
from benchmark.errors import DoesNotFitError
from benchmark.nets.convnet import ConvNet
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


# ---- the adversarial terms -------------------------------------------------------------------


def diversity(feat_a: torch.Tensor, feat_b: torch.Tensor) -> torch.Tensor:
    """mean over rows of (cos(a, b) + 1) / 2: 1 where two views' features agree, 0 where opposite."""
    return ((F.cosine_similarity(feat_a, feat_b, dim=1) + 1) / 2).mean()


def supervised_contrastive(features: torch.Tensor, labels: torch.Tensor, temperature: float) -> torch.Tensor:
    """SupCon (Khosla et al., 2020) of unit feature rows: the positives of row i are the other rows of
    its class; −mean_i mean_{p ∈ P(i)} log(exp(z_i·z_p / τ) / Σ_{a ≠ i} exp(z_i·z_a / τ))."""
    self_pair = torch.eye(len(features), dtype=torch.bool, device=features.device)
    logits = (features @ features.T / temperature).masked_fill(self_pair, float("-inf"))
    log_prob = logits - torch.logsumexp(logits, dim=1, keepdim=True)
    positive = (labels[:, None] == labels[None, :]) & ~self_pair
    return -(log_prob.masked_fill(~positive, 0.0).sum(1) / positive.sum(1)).mean()


def extractor_loss(
    logits: torch.Tensor,
    feat_a: torch.Tensor,
    feat_b: torch.Tensor,
    labels: torch.Tensor,
    *,
    ce_weight: float,
    likelihood_weight: float,
    contrast_weight: float,
    temperature: float,
) -> torch.Tensor:
    """The extractor's loss on two views of one batch: ``logits`` of view a then view b, ``labels`` of
    one view. CE of both views + mean((1 − cos) / 2) (the published "likelihood" term) + SupCon of
    the unit features of both views (view a then view b, each row labelled with its class)."""
    both = torch.cat([labels, labels])
    ce = F.cross_entropy(logits, both)
    likelihood = ((1 - F.cosine_similarity(feat_a, feat_b, dim=1)) / 2).mean()
    contrast = supervised_contrastive(F.normalize(torch.cat([feat_a, feat_b]), dim=1), both, temperature)
    return ce_weight * ce + likelihood_weight * likelihood + contrast_weight * contrast


class MomentumSGD(nn.Module):
    """torch.optim.SGD's rule (v ← μ·v + g, p ← p − lr·v, no dampening), the velocities kept as buffers
    so that the parameterization's state dict (the checkpoint) carries them."""

    def __init__(self, params: list[torch.Tensor], lr: float, momentum: float):
        super().__init__()
        self.lr, self.momentum = lr, momentum
        for i, p in enumerate(params):
            self.register_buffer(f"velocity{i}", torch.zeros_like(p))

    @torch.no_grad()
    def step(self, params: list[torch.Tensor], grads: tuple[torch.Tensor, ...]) -> None:
        for i, (p, g) in enumerate(zip(params, grads, strict=True)):
            velocity = getattr(self, f"velocity{i}")
            velocity.mul_(self.momentum).add_(g)
            p.sub_(self.lr * velocity)


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
    # Defaults: the published code's values (docs/haba.md; the λ's are its run scripts').
    params = {
        "hallucinators": Param(5, "number of hallucinators", minimum=1),
        "init": Param("real", "initial bases: real training images or noise", choices=("real", "noise")),
        "lr_bases": Param(100.0, "SGD lr of the bases", minimum=0.0),
        "lr_hallucinators": Param(100.0, "SGD lr of the hallucinators", minimum=0.0),
        "momentum_haba": Param(0.95, "SGD momentum of bases and hallucinators", minimum=0.0, maximum=1.0),
        "diversity_weight": Param(0.1, "λ of the diversity term λ·mean((cos + 1) / 2)", minimum=0.0),
        "batch_diversity": Param(0, "bases per diversity and extractor batch; 0 = every base", minimum=0),
        "diversity_dsa": Param(
            "auto", "DSA of both hallucinated views: auto (the dataset's), none, families", check=check_dsa
        ),
        "extractor_width": Param(128, "width of the adversarial feature extractor (ConvNet)", minimum=1),
        "lr_extractor": Param(0.001, "SGD lr of the feature extractor", minimum=0.0),
        "momentum_extractor": Param(0.9, "SGD momentum of the feature extractor", minimum=0.0, maximum=1.0),
        "extractor_ce_weight": Param(1.0, "weight of the extractor's cross-entropy", minimum=0.0),
        "extractor_likelihood_weight": Param(
            0.1, "weight of the extractor's mean((1 − cos) / 2) between the views", minimum=0.0
        ),
        "extractor_contrast_weight": Param(0.1, "weight of the extractor's SupCon term", minimum=0.0),
        "contrast_temperature": Param(0.07, "temperature of the SupCon term", minimum=1e-6),
    }

    def __init__(
        self, data: ClassData, budget: Budget, config: dict[str, Any], seed: int, context: FitContext
    ):
        super().__init__(data, budget, config, seed, context)
        count = config["hallucinators"]
        self.n = bases_per_class(budget, count)
        self.seed = seed
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
        width = config["extractor_width"]
        self.extractor = seeded(
            derive_seed("haba", "extractor", seed),
            lambda: ConvNet(data.channels, data.image_size, data.num_classes, width=width),
        )
        self.extractor.requires_grad_(False)
        self.extractor_sgd = MomentumSGD(
            list(self.extractor.parameters()), config["lr_extractor"], config["momentum_extractor"]
        )
        dsa = data.augmentation if config["diversity_dsa"] == "auto" else config["diversity_dsa"]
        self.dsa = DSA(dsa) if dsa != "none" else None
        self.register_buffer("calls", torch.zeros((), dtype=torch.long))
        self.register_buffer("diversity_calls", torch.zeros((), dtype=torch.long))

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
    def hallucinated_views(self, rng: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        """Two distinct hallucinators' outputs of one batch of bases, stacked (view a, then view b),
        with per-sample DSA; and the batch's classes."""
        total = len(self.classes) * self.n
        batch = self.config["batch_diversity"]
        index = torch.randperm(total, generator=rng)[:batch] if 0 < batch < total else torch.arange(total)
        first, second = torch.randperm(len(self.hallucinators), generator=rng)[:2].tolist()
        bases = self.bases.flatten(0, 1)[index.to(self.bases.device)]
        views = torch.cat([self.hallucinators[first](bases), self.hallucinators[second](bases)])
        if self.dsa is not None:
            views = self.dsa(views, rng)
        labels = torch.as_tensor(self.classes, device=views.device)[(index // self.n).to(views.device)]
        return views, labels

    def regularizer(self) -> torch.Tensor:
        if self.config["diversity_weight"] == 0 or len(self.hallucinators) < 2:
            return torch.zeros((), device=self.bases.device)
        if self.diversity_calls > 0:  # the extractor's step after the previous step of the bases
            with torch.no_grad():
                views, labels = self.hallucinated_views(self._generator())
            self.train_extractor(views, labels)
        self.diversity_calls += 1
        views, _ = self.hallucinated_views(self._generator())
        feat_a, feat_b = self.extractor.embed(views).chunk(2)
        return self.config["diversity_weight"] * diversity(feat_a, feat_b)

    def train_extractor(self, views: torch.Tensor, labels: torch.Tensor) -> None:
        """One step of the extractor's optimizer on ``extractor_loss`` of two stacked views."""
        config = self.config
        params = list(self.extractor.parameters())
        with torch.enable_grad():
            self.extractor.requires_grad_(True)
            features = self.extractor.embed(views)
            loss = extractor_loss(
                self.extractor.classifier(features),
                *features.chunk(2),
                labels,
                ce_weight=config["extractor_ce_weight"],
                likelihood_weight=config["extractor_likelihood_weight"],
                contrast_weight=config["extractor_contrast_weight"],
                temperature=config["contrast_temperature"],
            )
            grads = torch.autograd.grad(loss, params)
            self.extractor.requires_grad_(False)
        self.extractor_sgd.step(params, grads)

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

# HaBa's published CIFAR10 runs (github.com/Huage001/DatasetFactorization, run_cifar10_ipc1_style5.sh,
# run_cifar10_ipc10_style5.sh, run_cifar10_ipc50_style5.sh): TM keys per IPC. The scripts store
# --ipc bases per class (1 / 10 / 50) beside the 5 hallucinators, over the budget; here the bases per
# class follow from the budget instead (IPC 1: does not fit; IPC 10: 9; IPC 50: 49).
PAPER_CIFAR10_TM = {
    1: {"syn_steps": 50, "expert_epochs": 2, "max_start": 2, "lr_lr": 1e-7, "lr_init": 0.01},
    10: {"syn_steps": 30, "expert_epochs": 2, "max_start": 20, "lr_lr": 1e-5, "lr_init": 0.001},
    50: {"syn_steps": 30, "expert_epochs": 2, "max_start": 20, "lr_lr": 1e-5, "lr_init": 0.01},
}
# Every CIFAR10 row: 5 hallucinators, lr_img = lr_style = 100 and the λ's of the three scripts;
# batch_syn unset there (every image per student step); experts as in the README (100 × 50 epochs).
PAPER_CIFAR10_HABA = {
    "hallucinators": 5,
    "lr_bases": 100.0,
    "lr_hallucinators": 100.0,
    "diversity_weight": 0.1,
    "extractor_ce_weight": 1.0,
    "extractor_likelihood_weight": 0.1,
    "extractor_contrast_weight": 0.1,
    "batch_diversity": 0,
}
PAPER_CIFAR10_EXPERTS = {"batch_syn": 0, "num_experts": 100, "expert_train_epochs": 50}
PAPER_ITERATIONS = 15000  # distill_fac.py's default --Iteration, which no published script changes


class HabaStrategy(DistillationStrategy):
    """HaBa: bases and hallucinators (Liu et al., NeurIPS 2022), TM by default, any objective allowed."""

    name = "haba"
    parameterization = "haba"
    objective = None
    default_objective = "tm"

    @classmethod
    def presets(cls, profile: str, dataset: str, ipc: int, given: dict[str, Any]) -> dict[str, Any]:
        preset = super().presets(profile, dataset, ipc, given)
        tm = cls.objective_name(given) == "tm"
        if tm:
            preset["momentum_lr"] = 0.9  # HaBa's code: α's SGD momentum (docs/protocol.md §12)
        if profile == "paper":
            preset["iterations"] = PAPER_ITERATIONS
            if dataset == "cifar10" and ipc in PAPER_CIFAR10_TM:
                preset |= PAPER_CIFAR10_HABA
                if tm:
                    preset |= PAPER_CIFAR10_EXPERTS | PAPER_CIFAR10_TM[ipc]
            return preset
        # quick: n × classes images per hallucinator draw; TM steps on 32 of them at a time, and the
        # diversity batch follows the student's as in the published code; a narrow extractor.
        quick_tm = {"batch_syn": 32} if tm else {}
        smoke = profile == "smoke"
        sizes = {"iterations": 3 if smoke else 100, "extractor_width": 8 if smoke else 32}
        return preset | quick_tm | sizes | {"batch_diversity": 32}

    @classmethod
    def original_recipe(cls, config: dict[str, Any], dataset: str, ipc: int) -> dict[str, Any] | None:
        # HaBa's code (docs/protocol.md §12): 1000 epochs in its evaluate_synset loop, every batch
        # standardised (test batches of 128); on TM, experts trained on standardised batches too.
        published = {"epochs": 1000, "schedule": "published", "standardize": True, "test_batch_size": 128}
        if cls.objective_name(config) == "tm":
            published["spec"] = {"expert_standardize": True}
        return published
