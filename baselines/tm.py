"""Trajectory matching (TM / MTT, PROTOCOL.md §4) with SPEED's student momentum (§6).

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

The student runs channels-last (NHWC), the layout oneDNN's convolutions prefer on CPU.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.func import functional_call

from baselines.experts import ExpertRecipe, build_experts, build_network, dsa_strategy, load_snapshots
from benchmark.augment.dsa import DSA
from benchmark.augment.dsa import check_setting as check_dsa
from benchmark.data.classdata import ClassData
from benchmark.distill.objective import Objective
from benchmark.distill.parameterization import Parameterization
from benchmark.distill.strategy import DistillationStrategy
from benchmark.errors import UserInputError
from benchmark.spec import Param
from benchmark.strategy import FitContext

# PROTOCOL.md §4, CIFAR10 (published run commands; the paper's table is authoritative).
CIFAR10 = {
    1: {"syn_steps": 50, "expert_epochs": 2, "max_start": 2, "lr_lr": 1e-7, "lr_init": 0.01},
    10: {"syn_steps": 30, "expert_epochs": 2, "max_start": 20, "lr_lr": 1e-5, "lr_init": 0.001},
    50: {"syn_steps": 30, "expert_epochs": 2, "max_start": 40, "lr_lr": 1e-5, "lr_init": 0.001},
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
            "auto", "DSA strategy of experts and student: 'auto' (the dataset's) or 'none'", check=check_dsa
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
            # 100 experts × 50 epochs on the whole training split; other datasets: plain defaults.
            table = CIFAR10.get(ipc, {}) if dataset == "cifar10" else {}
            return {"num_experts": 100, "expert_train_epochs": 50} | table
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
        )
        strategy = dsa_strategy(data, self.recipe)
        self.dsa = DSA(strategy) if strategy else None
        self.alpha = nn.Parameter(torch.tensor(float(config["lr_init"]), device=self.device))
        self.net = build_network(data, self.recipe).to(self.device).train()
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
        x = x.contiguous(memory_format=torch.channels_last)
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
                inputs = [leaf_theta, x_leaf, a] + ([leaf_m] if momentum else [])
                if value is None:  # the last segment ends in the loss
                    value = ((theta - target) ** 2).sum() / ((theta0 - target) ** 2).sum()
                    grads = torch.autograd.grad(value, inputs, allow_unused=True)
                else:
                    outputs = [theta] + ([m] if momentum else [])
                    grads = torch.autograd.grad(outputs, inputs, adjoints, allow_unused=True)
            adjoints = [grads[0]] + (
                [grads[3] if grads[3] is not None else torch.zeros_like(theta0)] if momentum else []
            )
            grad_x += grads[1] if grads[1] is not None else 0
            grad_alpha += grads[2] if grads[2] is not None else 0
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

# PROTOCOL.md §4, CIFAR10 images' lr (published run commands; ZCA-whitened images at IPC 1 and 10).
TM_CIFAR10_LR_IMG = {1: 100.0, 10: 100.0, 50: 1000.0}


class TMStrategy(DistillationStrategy):
    """Trajectory matching on pixels (Cazenavette et al., CVPR 2022)."""

    name = "tm"
    parameterization = "pixels"
    objective = "tm"

    @classmethod
    def presets(cls, profile: str, dataset: str, ipc: int, given: dict[str, Any]) -> dict[str, Any]:
        preset = super().presets(profile, dataset, ipc, given) | {"momentum_img": 0.5}
        if profile == "paper":
            lr_img = TM_CIFAR10_LR_IMG.get(ipc, 1000.0) if dataset == "cifar10" else 1000.0
            return preset | {"iterations": 5000, "lr_img": lr_img}
        # quick: 150 iterations of 10 student steps on a narrow ConvNet (see baselines.tm presets).
        return preset | {"iterations": 3 if profile == "smoke" else 150, "lr_img": 100.0}

    @classmethod
    def original_recipe(cls, config: dict[str, Any], dataset: str, ipc: int) -> dict[str, Any] | None:
        # MTT's published CIFAR10 IPC 50 run is the one without ZCA (PROTOCOL.md §4).
        return {"preprocessing": "meanstd"} if (dataset, ipc) == ("cifar10", 50) else None
