"""The TM iteration as it stood before the performance work (issue 22), frozen as a baseline.

A standalone copy of the full-graph student of ``baselines/tm.py`` at that time, with its ConvNet
forward (conv 3×3 → GroupNorm(c, c) → ReLU → AvgPool2d, flattened into a linear classifier) and
DSA (one family per step, per-sample parameters, the ranges of docs/protocol.md §0), written out with
``torch.nn.functional`` so that nothing the project later makes faster moves it. It measured 0.95×
the published SPEED code's iteration side by side (docs/protocol.md §12). The synthetic images are
decoded by the project's own parameterization for both paths, so only the student differs.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F


class FrozenTM:
    """One full-graph TM iteration on a ConvNet of ``width``, ``depth`` 3, 32 px inputs."""

    def __init__(self, net: torch.nn.Module, syn_steps: int, batch_syn: int, momentum: float, alpha: float):
        self.names = [name for name, _ in net.named_parameters()]
        self.shapes = [tuple(p.shape) for p in net.parameters()]
        self.sizes = [p.numel() for p in net.parameters()]
        self.syn_steps, self.batch_syn, self.momentum = syn_steps, batch_syn, momentum
        self.alpha = torch.nn.Parameter(torch.tensor(alpha))
        self.order: list[int] = []

    def forward(self, theta: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        params = [p.view(s) for p, s in zip(torch.split(theta, self.sizes), self.shapes, strict=True)]
        for block in range(3):
            weight, bias, norm_weight, norm_bias = params[4 * block : 4 * block + 4]
            x = F.conv2d(x, weight, bias, padding=1)
            x = F.group_norm(x, x.shape[1], norm_weight, norm_bias)
            x = F.avg_pool2d(F.relu(x), 2, 2)
        return F.linear(x.flatten(1), params[12], params[13])

    def loss(self, images, labels, theta0, target, generator, augment: bool = True) -> torch.Tensor:
        theta = theta0.clone().requires_grad_(True)
        m = torch.zeros_like(theta)
        for _ in range(self.syn_steps):
            if len(self.order) < min(self.batch_syn, len(images)):
                self.order = torch.randperm(len(images), generator=generator).tolist()
            batch = self.order[: self.batch_syn]
            self.order = self.order[self.batch_syn :] if self.batch_syn < len(images) else self.order
            x = frozen_dsa(images[batch], generator) if augment else images[batch]
            out = self.forward(theta, x)
            grad = torch.autograd.grad(F.cross_entropy(out, labels[batch]), theta, create_graph=True)[0]
            m = self.momentum * m + (1 - self.momentum) * grad
            theta = theta - self.alpha * m
        return ((theta - target) ** 2).sum() / ((theta0 - target) ** 2).sum()


def frozen_dsa(x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """One of color, crop, cutout, flip, scale, rotate, with per-sample parameters."""
    n, _, h, _ = x.shape
    family = ("color", "crop", "cutout", "flip", "scale", "rotate")[
        int(torch.randint(6, (1,), generator=generator))
    ]

    def u() -> torch.Tensor:
        return torch.rand(n, 1, 1, 1, generator=generator)

    if family == "color":
        x = x + (u() - 0.5)
        mean = x.mean(dim=1, keepdim=True)
        x = (x - mean) * (u() * 2.0) + mean
        mean = x.mean(dim=(1, 2, 3), keepdim=True)
        return (x - mean) * (u() + 0.5) + mean
    if family == "flip":
        return torch.where(u() < 0.5, x.flip(3), x)
    if family in ("scale", "rotate"):
        if family == "scale":
            sx, sy = (u().flatten() * (1.2 - 1 / 1.2) + 1 / 1.2 for _ in range(2))
            zero = torch.zeros_like(sx)
            theta = torch.stack([torch.stack([sx, zero, zero], 1), torch.stack([zero, sy, zero], 1)], 1)
        else:
            angle = (u().flatten() - 0.5) * 2 * 15.0 / 180 * math.pi
            cos, sin, zero = torch.cos(angle), torch.sin(angle), torch.zeros_like(angle)
            theta = torch.stack([torch.stack([cos, sin, zero], 1), torch.stack([-sin, cos, zero], 1)], 1)
        grid = F.affine_grid(theta, list(x.shape), align_corners=True)
        return F.grid_sample(x, grid, align_corners=True)
    shift = int(h * 0.125 + 0.5)
    if family == "crop":
        tx = torch.randint(-shift, shift + 1, (n,), generator=generator)
        ty = torch.randint(-shift, shift + 1, (n,), generator=generator)
        padded = F.pad(x, (shift, shift, shift, shift))
        rows = torch.arange(h)[None, :] + shift + ty[:, None]
        cols = torch.arange(h)[None, :] + shift + tx[:, None]
        return padded[torch.arange(n)[:, None, None], :, rows[:, :, None], cols[:, None, :]].permute(
            0, 3, 1, 2
        )
    size = int(h * 0.5 + 0.5)
    cx = torch.randint(0, h + (1 - size % 2), (n,), generator=generator)
    cy = torch.randint(0, h + (1 - size % 2), (n,), generator=generator)
    rows = torch.arange(h)[None, :] - (cy[:, None] - size // 2)
    cols = torch.arange(h)[None, :] - (cx[:, None] - size // 2)
    mask = ~((((rows >= 0) & (rows < size))[:, :, None]) & (((cols >= 0) & (cols < size))[:, None, :]))
    return x * mask[:, None].to(x.dtype)
