"""Trajectory matching (TM / MTT, docs/protocol.md §4) with SPEED's student momentum (§6).

Per iteration: a random expert and start epoch t ~ U{0 … max_start − 1}; θ0 = expert[t],
θ* = expert[t + M]. The student takes ``syn_steps`` steps on minibatches of the synthetic set
(per-sample DSA), g = ∇θ CE(f_θ(DSA(x)), y) with the graph kept, then either θ ← θ − α·g
(``student_momentum`` = 0) or SPEED's exponential average m ← β·m + (1 − β)·g, θ ← θ − α·m.
Loss = ‖θ_last − θ*‖² / ‖θ0 − θ*‖². α is a learned scalar (SGD ``lr_lr``, momentum ``momentum_lr``:
MTT 0.5, SPEED 0.95, HaBa 0.9, as their codes use), clipped ≥ ``min_lr`` after each step, and
stored in the buffer.

Memory and speed (``graph_steps``): the unrolled student is cut into segments of ``graph_steps``
steps. A first pass without graphs runs the steps before the last segment, keeping only θ and m
(P floats each) at each segment's start and each step's minibatch and DSA draw; then, from the
last segment to the first, each segment is rerun with its graph (θ, m at its start, the images and
α as leaves) and differentiated against the incoming adjoint. One segment holding every step is
the published implementation's full graph (fastest; memory grows with the steps); one step per
segment is the leanest (peak: one step's double-backward graph, about one extra forward/backward
per step). ``graph_steps=0`` (default) chooses the longest segments whose graphs fit
``graph_memory_gib``, measured on the first step. The gradients equal the full graph's for every
segment length (a test checks it). ``loss()`` returns a surrogate whose value is the TM loss and
whose gradient with respect to the synthetic images and α is the one computed that way.

The student runs channels-last (NHWC), the layout oneDNN's convolutions prefer on CPU; one-channel
images run NCHW (for them channels-last is ambiguous: the layout would follow each DSA family's
strides), and there its 2×2 average pooling gets derivatives in closed form (``StudentPool``), since
PyTorch's double backward of the depthwise convolution that pools NCHW runs group by group.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.func import functional_call

from baselines.experts import ExpertRecipe, build_experts, build_network, dsa_families, load_snapshots
from baselines.searched import searched_quick
from benchmark.augment.dsa import DSA
from benchmark.augment.dsa import check_setting as check_dsa
from benchmark.data.classdata import ClassData
from benchmark.distill.objective import Objective
from benchmark.distill.parameterization import Parameterization
from benchmark.distill.strategy import DistillationStrategy
from benchmark.errors import UserInputError
from benchmark.nets import convnet_for
from benchmark.nets.layers import AvgPool2x2
from benchmark.spec import Param
from benchmark.strategy import FitContext

# MTT's published settings per (dataset, IPC), docs/tm.md (its sources, and where they disagree):
# M = expert_epochs, α init = lr_init, lr_img the images' lr, batch_syn 0 = the whole set, zca whether the
# run whitens. The paper's own table is an image; these are its authors' run commands as published:
#   [readme] github.com/GeorgeCazenavette/mtt-distillation readme.md (CIFAR100 IPC 1, ImageFruit IPC 1);
#   [dc-bench] github.com/justincui03/dc_benchmark methods/tm/readme.md ("provided by the author");
#   [ftd] github.com/AngusDujw/FTD-distillation issue 3 (the FTD authors restating MTT's subset settings).
MTT: dict[tuple[str, int], dict[str, Any]] = {
    # [dc-bench]; the paper table's lr_img at CIFAR10 IPC 10 is a typo (mtt-distillation issue 31)
    ("cifar10", 1): dict(syn_steps=50, expert_epochs=2, max_start=2, lr_img=100.0, lr_lr=1e-7, lr_init=0.01,
                         batch_syn=0, zca=True),
    ("cifar10", 10): dict(syn_steps=30, expert_epochs=2, max_start=20, lr_img=100.0, lr_lr=1e-5,
                          lr_init=0.001, batch_syn=0, zca=True),
    ("cifar10", 50): dict(syn_steps=30, expert_epochs=2, max_start=40, lr_img=1000.0, lr_lr=1e-5,
                          lr_init=0.001, batch_syn=0, zca=False),
    # [readme] and [dc-bench]
    ("cifar100", 1): dict(syn_steps=20, expert_epochs=3, max_start=20, lr_img=1000.0, lr_lr=1e-5,
                          lr_init=0.01, batch_syn=0, zca=True),
    # [dc-bench], this and the rows below
    ("cifar100", 10): dict(syn_steps=20, expert_epochs=2, max_start=20, lr_img=1000.0, lr_lr=1e-5,
                           lr_init=0.01, batch_syn=0, zca=False),
    ("cifar100", 50): dict(syn_steps=80, expert_epochs=2, max_start=40, lr_img=1000.0, lr_lr=1e-5,
                           lr_init=0.01, batch_syn=125, zca=True),
    ("tinyimagenet", 1): dict(syn_steps=10, expert_epochs=2, max_start=10, lr_img=10000.0, lr_lr=1e-4,
                              lr_init=0.01, batch_syn=0, zca=False),
    ("tinyimagenet", 10): dict(syn_steps=20, expert_epochs=2, max_start=40, lr_img=10000.0, lr_lr=1e-4,
                               lr_init=0.01, batch_syn=200, zca=False),
    ("tinyimagenet", 50): dict(syn_steps=20, expert_epochs=2, max_start=40, lr_img=10000.0, lr_lr=1e-4,
                               lr_init=0.01, batch_syn=300, zca=False),
}  # fmt: skip
# ImageNet subsets, IPC 1 and 10: what [readme] (ImageFruit IPC 1) and [ftd] (every subset, IPC 1 and 10)
# agree on. They disagree on lr_img (10^3 / 10^4) and lr_lr (1e-6 / 1e-4), and neither gives batch_syn at
# IPC 10: those keep the generic values (docs/tm.md).
IMAGENET_SUBSETS = ("imagenette", "imagewoof", "imagefruit", "imagemeow", "imagesquawk", "imageyellow")
MTT |= {
    (subset, ipc): dict(syn_steps=20, expert_epochs=2, max_start=10, lr_init=0.01, zca=False)
    for subset in IMAGENET_SUBSETS
    for ipc in (1, 10)
}

# quick: 4 narrow experts (ConvNet-32) trained 6 epochs on 200 images per class, 10 student steps
# on at most 64 synthetic images each.
QUICK = {
    "syn_steps": 10,
    "batch_syn": 64,
    "expert_epochs": 2,
    "max_start": 4,
    "num_experts": 4,
    "expert_train_epochs": 6,
    "expert_subset": 200,
    "net_width": 32,
    "lr_lr": 1e-5,
    "lr_init": 0.01,
}
# smoke: one tiny expert and three student steps, to check the plumbing in seconds.
SMOKE = QUICK | {"syn_steps": 3, "batch_syn": 16, "expert_epochs": 1, "max_start": 1, "num_experts": 1,
                 "expert_train_epochs": 2, "expert_subset": 20, "net_width": 8}  # fmt: skip


class _HalveByAveraging(torch.autograd.Function):
    """2×2 average pooling of stride 2 on NCHW float32 (``AvgPool2x2``'s values); its gradient is
    ``_SpreadQuarters``, whose gradient is this again, so every derivative order stays one cheap pass."""

    @staticmethod
    def forward(ctx, x: torch.Tensor) -> torch.Tensor:
        ctx.size = x.shape[-2:]
        return AvgPool2x2()(x)

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> torch.Tensor:
        return _SpreadQuarters.apply(grad, ctx.size)


class _SpreadQuarters(torch.autograd.Function):
    """avg_pool2d's backward for 2×2 windows of stride 2: a quarter of each value to each of its four
    pixels (zero in an odd last row or column)."""

    @staticmethod
    def forward(ctx, grad: torch.Tensor, size: torch.Size) -> torch.Tensor:
        # a depthwise transposed convolution of stride 2 with weights 1/4: one product per pixel (the
        # bits of grad × 1/4), an odd last row or column left zero by output_padding
        quarters = torch.full((grad.shape[1], 1, 2, 2), 0.25)
        h, w = grad.shape[-2:]
        padding = (size[0] - 2 * h, size[1] - 2 * w)
        return F.conv_transpose2d(grad, quarters, stride=2, output_padding=padding, groups=grad.shape[1])

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> tuple[torch.Tensor, None]:
        return _HalveByAveraging.apply(grad.contiguous()), None


class StudentPool(nn.Module):
    """The student's ``AvgPool2x2``: the same values, with ``_HalveByAveraging`` where it would pool
    by a depthwise convolution (contiguous NCHW float32 on CPU)."""

    def __init__(self, pool: AvgPool2x2):
        super().__init__()
        self.pool = pool

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if (
            x.device.type == "cpu" and x.dim() == 4 and x.dtype == torch.float32 and x.is_contiguous()
            and not torch.is_autocast_enabled("cpu")
        ):  # fmt: skip
            return _HalveByAveraging.apply(x)
        return self.pool(x)


def with_student_pooling(net: nn.Module) -> nn.Module:
    """``net`` with every ``AvgPool2x2`` wrapped in ``StudentPool`` (no parameters change)."""
    for name, child in net.named_children():
        if isinstance(child, AvgPool2x2):
            setattr(net, name, StudentPool(child))
        else:
            with_student_pooling(child)
    return net


class TrajectoryMatching(Objective):
    params = {
        "syn_steps": Param(20, "student steps per iteration", minimum=1),
        "expert_epochs": Param(2, "M: target = expert[t + M]", minimum=1),
        "max_start": Param(20, "start epoch t ~ U{0 … max_start − 1}", minimum=1),
        "batch_syn": Param(0, "synthetic images per student step; 0 = the whole set", minimum=0),
        "lr_lr": Param(1e-5, "learning rate of the learned lr α", minimum=0.0),
        "lr_init": Param(0.01, "initial α", minimum=0.0),
        "momentum_lr": Param(0.5, "SGD momentum of α's optimizer (MTT 0.5)", minimum=0.0, maximum=1.0),
        "student_momentum": Param(
            0.0, "β of the student's m ← β·m + (1 − β)·g (SPEED); 0 = plain SGD", minimum=0.0, maximum=0.999
        ),
        "min_lr": Param(0.001, "α is clipped ≥ this after every step", minimum=0.0),
        "num_experts": Param(100, "expert trajectories", minimum=1),
        "expert_train_epochs": Param(50, "epochs each expert is trained", minimum=1),
        "expert_subset": Param(0, "training images per class for the experts (seeded); 0 = all", minimum=0),
        "network": Param("ConvNet", "expert and student network", registry="NETWORKS"),
        "net_width": Param(128, "expert and student network width", minimum=1),
        "dsa": Param(
            "auto", "DSA families of experts and student: 'auto' (the dataset's) or 'none'", check=check_dsa
        ),
        "expert_standardize": Param(
            False, "experts trained on batches standardised by their own mean/std (the SPEED and HaBa codes)"
        ),
        "graph_steps": Param(
            0,
            "student steps whose graphs are kept at once (0: the most that fit graph_memory_gib)",
            minimum=0,
        ),
        "graph_memory_gib": Param(6.0, "memory for the kept student graphs when graph_steps=0", minimum=0.0),
    }

    @classmethod
    def presets(cls, profile: str, dataset: str, ipc: int) -> dict[str, Any]:
        if profile == "paper":
            # 100 experts × 50 epochs on the whole training split, the ConvNet of the dataset's resolution,
            # MTT's row where it published one (plain defaults elsewhere).
            row = {key: value for key, value in MTT.get((dataset, ipc), {}).items() if key in cls.params}
            return {"num_experts": 100, "expert_train_epochs": 50, "network": convnet_for(dataset)} | row
        return dict(SMOKE if profile == "smoke" else QUICK)

    def __init__(self, data: ClassData, config: dict[str, Any], seed: int, context: FitContext):
        super().__init__(data, config, seed, context)
        if config["max_start"] + config["expert_epochs"] > config["expert_train_epochs"]:
            raise UserInputError(
                f"tm: max_start={config['max_start']} + expert_epochs={config['expert_epochs']} exceeds "
                f"expert_train_epochs={config['expert_train_epochs']}; lower max_start or train longer"
            )
        self.device = context.device
        self.recipe = ExpertRecipe(
            network=config["network"],
            width=config["net_width"],
            epochs=config["expert_train_epochs"],
            subset=config["expert_subset"],
            dsa=config["dsa"],
            standardize=config["expert_standardize"],
        )
        families = dsa_families(data, self.recipe)
        self.dsa = DSA(families) if families else None
        self.alpha = nn.Parameter(torch.tensor(float(config["lr_init"]), device=self.device))
        self.net = with_student_pooling(build_network(data, self.recipe)).to(self.device).train()
        for p in self.net.parameters():
            p.requires_grad_(False)
        self.layout = [(name, tuple(p.shape)) for name, p in self.net.named_parameters()]
        self.sizes = [p.numel() for p in self.net.parameters()]
        self._files: list[Path] | None = None
        self._order: list[int] = []
        self._step_bytes: int | None = None  # graph memory of one student step, measured once

    # ---- experts -------------------------------------------------------------------------
    def expert_files(self) -> list[Path]:
        if self._files is None:
            # float32 under any distillation precision: the cached experts are shared by every precision
            with torch.autocast(torch.device(self.device).type, enabled=False):
                self._files = build_experts(
                    self.data,
                    self.recipe,
                    self.seed,
                    self.config["num_experts"],
                    self.context.cache_root,
                    self.device,
                    self.context.show_progress,
                )
        return self._files

    def sample_endpoints(self, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        files = self.expert_files()
        expert = int(torch.randint(len(files), (1,), generator=generator))
        start = int(torch.randint(self.config["max_start"], (1,), generator=generator))
        theta0, target = load_snapshots(files[expert], [start, start + self.config["expert_epochs"]])
        return theta0.to(self.device), target.to(self.device)

    # ---- the student ---------------------------------------------------------------------
    def unflatten(self, theta: torch.Tensor) -> dict[str, torch.Tensor]:
        parts = torch.split(theta, self.sizes)
        return {name: part.view(shape) for (name, shape), part in zip(self.layout, parts, strict=True)}

    def student_step(self, theta, m, images, labels, batch, draw, alpha, create_graph: bool):
        """One student step from (θ, m); returns (θ', m'). ``m`` is None without momentum."""
        x = images if batch is None else images[batch]
        y = labels if batch is None else labels[batch]
        if draw is not None:
            x = self.dsa.apply(x, draw)
        # bfloat16 (--distill-precision bf16) runs NCHW: oneDNN's bf16 GroupNorm is slow channels-last
        channels_last = x.shape[1] > 1 and not torch.is_autocast_enabled(x.device.type)
        x = x.contiguous(memory_format=torch.channels_last if channels_last else torch.contiguous_format)
        out = functional_call(self.net, self.unflatten(theta), (x,))
        grad = torch.autograd.grad(F.cross_entropy(out, y), theta, create_graph=create_graph)[0]
        beta = self.config["student_momentum"]
        if beta > 0:
            m = beta * m + (1 - beta) * grad
            return theta - alpha * m, m
        return theta - alpha * grad, None

    def plan_steps(self, count: int, generator: torch.Generator) -> list[tuple[Any, Any]]:
        """(minibatch indices or None, DSA draw or None) for each student step."""
        plan = []
        batch_syn = self.config["batch_syn"]
        size = self.data.image_size
        for _ in range(self.config["syn_steps"]):
            batch = None
            if 0 < batch_syn < count:
                if not self._order:
                    self._order = torch.randperm(count, generator=generator).tolist()
                batch, self._order = self._order[:batch_syn], self._order[batch_syn:]
                batch = torch.as_tensor(batch, device=self.device)
            n = count if batch is None else len(batch)
            draw = self.dsa.draw(n, size, generator) if self.dsa is not None else None
            plan.append((batch, draw))
        return plan

    def loss(self, synthetic: Parameterization, generator: torch.Generator) -> torch.Tensor:
        theta0, target = self.sample_endpoints(generator)
        images, labels = synthetic.synthesize()
        labels = labels.to(self.device)
        plan = self.plan_steps(len(images), generator)
        segment = self.config["graph_steps"] or self._fitting_steps(theta0, images, labels, plan[0])
        return self._loss_segments(theta0, target, images, labels, plan, max(1, segment))

    def _fitting_steps(self, theta0, images, labels, first) -> int:
        """How many steps' graphs fit ``graph_memory_gib``: the bytes one step saves for its
        backward and double backward, measured once on a step with a graph."""
        if self._step_bytes is None:
            seen: dict[int, int] = {}

            def pack(tensor: torch.Tensor) -> torch.Tensor:
                seen[tensor.untyped_storage().data_ptr()] = tensor.untyped_storage().nbytes()
                return tensor

            momentum = torch.zeros_like(theta0) if self.config["student_momentum"] > 0 else None
            theta = theta0.detach().clone().requires_grad_(True)
            x = images.detach().requires_grad_(True)
            with torch.autograd.graph.saved_tensors_hooks(pack, lambda tensor: tensor), torch.enable_grad():
                new_theta, _ = self.student_step(theta, momentum, x, labels, *first, self.alpha, True)
                torch.autograd.grad(new_theta.sum(), (theta, x), allow_unused=True)  # the double backward
            self._step_bytes = max(1, sum(seen.values()))
        return int(self.config["graph_memory_gib"] * 2**30 // self._step_bytes)

    def _loss_segments(self, theta0, target, images, labels, plan, segment: int) -> torch.Tensor:
        momentum = self.config["student_momentum"] > 0
        x = images.detach()
        alpha = self.alpha.detach()
        starts = list(range(0, len(plan), segment))
        theta, m = theta0, torch.zeros_like(theta0) if momentum else None
        states = {0: (theta, m)}
        for k, (batch, draw) in enumerate(plan[: starts[-1]]):  # forward without graphs: segment starts
            step_theta = theta.detach().requires_grad_(True)
            theta, m = self.student_step(step_theta, m, x, labels, batch, draw, alpha, False)
            theta, m = theta.detach(), m.detach() if momentum else None
            if k + 1 in starts:
                states[k + 1] = (theta, m)
        x_leaf = x.clone().requires_grad_(True)
        grad_x, grad_alpha = torch.zeros_like(x), torch.zeros((), device=self.device)
        adjoints: list[torch.Tensor] = []
        value = None
        for start in reversed(starts):  # backward: one segment's graph at a time
            theta_s, m_s = states[start]
            leaf_theta = theta_s.clone().requires_grad_(True)
            leaf_m = m_s.clone().requires_grad_(True) if momentum else None
            a = alpha.clone().requires_grad_(True)
            with torch.enable_grad():
                theta, m = leaf_theta, leaf_m
                for batch, draw in plan[start : start + segment]:
                    theta, m = self.student_step(theta, m, x_leaf, labels, batch, draw, a, True)
                # θ0 and m0 are constants: the first segment's derivatives with respect to them are
                # never needed, and not asking for them spares the weight-gradient passes they cost
                states_in = [leaf_theta] + ([leaf_m] if momentum else []) if start > 0 else []
                inputs = [x_leaf, a, *states_in]
                if value is None:  # the last segment ends in the loss
                    value = ((theta - target) ** 2).sum() / ((theta0 - target) ** 2).sum()
                    grads = torch.autograd.grad(value, inputs, allow_unused=True)
                else:
                    outputs = [theta] + ([m] if momentum else [])
                    grads = torch.autograd.grad(outputs, inputs, adjoints, allow_unused=True)
            adjoints = [g if g is not None else torch.zeros_like(theta0) for g in grads[2:]]
            grad_x += grads[0] if grads[0] is not None else 0
            grad_alpha += grads[1] if grads[1] is not None else 0
        # Surrogate: value of the TM loss, gradient (grad_x, grad_alpha) w.r.t. (images, α).
        surrogate = (images * grad_x).sum() + self.alpha * grad_alpha
        return surrogate - surrogate.detach() + value.detach()

    # ---- the learned lr ------------------------------------------------------------------
    def optimizer_groups(self) -> list[dict[str, Any]]:
        return [
            {
                "name": "lr",
                "params": [self.alpha],
                "lr": self.config["lr_lr"],
                "momentum": self.config["momentum_lr"],
                "optimizer": "sgd",
            }
        ]

    def after_step(self) -> None:
        with torch.no_grad():
            self.alpha.clamp_(min=self.config["min_lr"])

    def learned_lr(self) -> float | None:
        return float(self.alpha.detach())

    def state_dict(self) -> dict[str, Any]:
        return {
            "alpha": self.alpha.detach().cpu().clone(),
            "order": torch.tensor(self._order, dtype=torch.long),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        with torch.no_grad():
            self.alpha.copy_(state["alpha"].to(self.device))
        self._order = state.get("order", torch.zeros(0, dtype=torch.long)).tolist()


# ---- the registered strategy: pixels × TM ----------------------------------------------------

class TMStrategy(DistillationStrategy):
    """Trajectory matching on pixels (Cazenavette et al., CVPR 2022)."""

    name = "tm"
    parameterization = "pixels"
    objective = "tm"

    @classmethod
    def presets(cls, profile: str, dataset: str, ipc: int, given: dict[str, Any]) -> dict[str, Any]:
        preset = super().presets(profile, dataset, ipc, given) | {"momentum_img": 0.5}
        if profile == "paper":
            lr_img = MTT.get((dataset, ipc), {}).get("lr_img", 1000.0)
            return preset | {"iterations": 5000, "lr_img": lr_img}
        # quick: 150 iterations of 10 student steps on a narrow ConvNet (see baselines.tm presets).
        if profile == "smoke":
            return preset | {"iterations": 3, "lr_img": 100.0}
        return preset | {"iterations": 150, "lr_img": 100.0} | searched_quick(cls.name, dataset, ipc)

    @classmethod
    def original_recipe(cls, config: dict[str, Any], dataset: str, ipc: int) -> dict[str, Any] | None:
        # MTT's code: 1000 epochs in its evaluate_synset loop; its published CIFAR10 IPC 50 run is the
        # one without ZCA (docs/protocol.md §4).
        published = {"epochs": 1000, "schedule": "published"}
        if not MTT.get((dataset, ipc), {}).get("zca", True):  # also CIFAR100 IPC 10 (docs/tm.md)
            published["preprocessing"] = "meanstd"
        return published
