"""SpeedParameterization: SAETs E, SCMs A and a FReeNet as a learnable synthetic set.

N comes from the planner (eq. 7). ``sparsify=export`` is the paper's way (dense A while
distilling, ℓ1 penalty, top-k at evaluation and export); ``sparsify=forward`` applies the top-k
mask in the forward pass with a straight-through gradient. In eval mode images are always
top-k sparsified, so they equal what the exported buffer decodes to.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn as nn
import torch.nn.functional as F

from benchmark.budget import Budget
from benchmark.buffer import Buffer
from benchmark.data.classdata import ClassData
from benchmark.distill.parameterization import Parameterization
from benchmark.seeding import generator as make_generator
from benchmark.seeding import seeded
from benchmark.spec import Param
from benchmark.strategy import FitContext
from speed import coo
from speed.freenet import LAYERNORM_EPS, LAYOUT, FReeNet
from speed.planner import plan
from speed.sparsify import SCOPES, sparsify, sparsify_straight_through, topk_mask

INIT_STD = 0.2  # E, A ~ N(0, 0.2²)
FREENET_PREFIX = "freenet."

PARAMS: dict[str, Param] = {
    "dim": Param(24, "feature dimension D of SAETs and FReeNet", minimum=1),
    "tokens": Param(16, "number of SAETs K (≤ 256)", minimum=1, maximum=256),
    "heads": Param(2, "heads H of multi-head sparse coding (D divisible by H)", minimum=1),
    "k": Param(12, "non-zeros kept per (image, head)", minimum=1),
    "depth": Param(1, "recurrent blocks R of FReeNet", minimum=1),
    "patch": Param(4, "patch side p (must divide the image side)", minimum=1),
    "lam": Param(5e-6, "ℓ1 weight λ on the SCMs", minimum=0.0),
    "init": Param("noise", "noise: N(0, 0.2²) (paper); real: reconstruction fit to real images",
                  choices=("noise", "real")),
    "sparsify": Param("export", "export: top-k at export (paper); forward: top-k mask in the forward pass",
                      choices=("export", "forward")),
    "scope": Param("global", "top-k over the whole J×K matrix or spread over patches", choices=SCOPES),
    "init_steps": Param(300, "Adam steps of the init=real reconstruction fit", minimum=0),
    "init_fit_lr": Param(0.005, "Adam lr of the init=real reconstruction fit", minimum=0.0,
                         formerly="init_lr"),
    "lr_saet": Param(10.0, "learning rate of the SAETs", minimum=0.0),
    "lr_scm": Param(100.0, "learning rate of the SCMs", minimum=0.0),
    "lr_freenet": Param(0.01, "learning rate of FReeNet", minimum=0.0),
    "momentum": Param(0.95, "SGD momentum of all three groups", minimum=0.0, maximum=1.0),
    "optimizer": Param("sgd", "optimizer of all three groups", choices=("sgd", "adam")),
    "images_per_class": Param(0, "synthetic images per class; 0 = the largest that fits (eq. 7)", minimum=0),
}  # fmt: skip


class SpeedParameterization(Parameterization):
    """SPEED: images decoded by FReeNet from shared SAETs and per-image sparse coding matrices."""

    params = PARAMS

    def __init__(
        self, data: ClassData, budget: Budget, config: dict[str, Any], seed: int, context: FitContext
    ):
        super().__init__(data, budget, config, seed, context)
        self.config = {key: param.default for key, param in PARAMS.items()} | dict(config)
        cfg = self.config
        self.plan = plan(
            len(self.classes), budget.ipc, self.image_shape, cfg["dim"], cfg["tokens"], cfg["heads"],
            cfg["k"], cfg["depth"], cfg["patch"], images_per_class=cfg["images_per_class"],
        )  # fmt: skip
        self.k, self.scope, self.mode = cfg["k"], cfg["scope"], cfg["sparsify"]
        self.freenet = seeded(
            seed, lambda: FReeNet(cfg["dim"], cfg["heads"], cfg["depth"], cfg["patch"], self.image_shape)
        )
        rng = make_generator(seed + 1)
        shape = (self.plan.images, cfg["heads"], self.plan.patches, cfg["tokens"])
        self.saet = nn.Parameter(torch.randn(cfg["tokens"], cfg["dim"], generator=rng) * INIT_STD)
        self.scm = nn.Parameter(torch.randn(shape, generator=rng) * INIT_STD)
        self.init_losses: list[float] = []
        if cfg["init"] == "real":
            self.fit_to_real(
                data, cfg["init_steps"], cfg["init_fit_lr"], make_generator(seed + 2), context.device
            )

    @property
    def images_per_class(self) -> int:
        return self.plan.images_per_class

    # ---- images ----------------------------------------------------------------------------
    def codes(self, scm: torch.Tensor) -> torch.Tensor:
        """A as used by the forward pass: top-k in eval mode; in training per the sparsify mode."""
        if not self.training:
            return sparsify(scm, self.k, self.scope)
        if self.mode == "forward":
            return sparsify_straight_through(scm, self.k, self.scope)
        return scm

    def images_of_class(self, c: int) -> torch.Tensor:
        n = self.images_per_class
        position = self.classes.index(c)
        return self.freenet(self.saet, self.codes(self.scm[position * n : (position + 1) * n]))

    # ---- init=real ---------------------------------------------------------------------------
    def fit_to_real(
        self, data: ClassData, steps: int, lr: float, rng: torch.Generator, device: torch.device
    ) -> None:
        """Fit E, A, FReeNet to real training images of each class with the top-k mask in the forward
        pass (straight-through), then zero the dropped codes, so the kept codes carry the image."""
        n = self.images_per_class
        targets = torch.cat([_real_images(data, c, n, rng) for c in self.classes])
        self.to(device)
        targets = targets.to(device)
        optimizer = torch.optim.Adam(self.parameters(), lr=lr)
        batch = min(len(targets), 512)
        for _ in range(steps):
            chosen = torch.randperm(len(targets), generator=rng)[:batch].to(device)
            images = self.freenet(self.saet, sparsify_straight_through(self.scm[chosen], self.k, self.scope))
            loss = F.mse_loss(images, targets[chosen])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            self.init_losses.append(float(loss.detach()))
        with torch.no_grad():
            self.scm.copy_(sparsify(self.scm, self.k, self.scope))

    # ---- distillation contract ---------------------------------------------------------------
    def optimizer_groups(self) -> list[dict[str, Any]]:
        cfg = self.config
        parts = (("saet", [self.saet], "lr_saet"), ("scm", [self.scm], "lr_scm"),
                 ("freenet", list(self.freenet.parameters()), "lr_freenet"))  # fmt: skip
        return [
            {"name": name, "params": params, "lr": cfg[lr], "momentum": cfg["momentum"],
             "optimizer": cfg["optimizer"]}
            for name, params, lr in parts
        ]  # fmt: skip

    def regularizer(self) -> torch.Tensor:
        return self.config["lam"] * self.scm.abs().sum()

    def export(self) -> Buffer:
        """E, the top-k codes in COO form and FReeNet's weights, all float32 except uint8 indices."""
        with torch.no_grad():
            tensors = {"saet": self.saet.detach().float().cpu().contiguous()}
            tensors |= {
                key: t.cpu()
                for key, t in coo.encode(self.scm, topk_mask(self.scm, self.k, self.scope)).items()
            }
            tensors |= {
                FREENET_PREFIX + name: t.detach().float().cpu().contiguous()
                for name, t in self.freenet.state_dict().items()
            }
        cfg = self.config
        manifest = {key: cfg[key] for key in ("dim", "tokens", "heads", "k", "depth", "patch", "scope")}
        manifest |= {
            "sparsify": cfg["sparsify"],
            "init": cfg["init"],
            "images_per_class": self.images_per_class,
            "layernorm_eps": LAYERNORM_EPS,
            "patch_layout": LAYOUT,
            "classes": list(self.classes),
            "image_shape": list(self.image_shape),
            "plan": self.plan.to_dict(),
        }
        return Buffer(kind="speed", tensors=tensors, manifest=manifest)


def _real_images(data: ClassData, c: int, n: int, rng: torch.Generator) -> torch.Tensor:
    """``n`` real training images of class ``c``; repeated in turn if the class has fewer."""
    images = data.train.sample_class(c, n, rng)
    if len(images) == 0:
        raise ValueError(f"class {c} has no training images to initialise SPEED from")
    repeats = -(-n // len(images))
    return images.repeat(repeats, 1, 1, 1)[:n]
