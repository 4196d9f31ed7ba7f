"""The SPEED × TM iteration as it stood before issue 33, frozen as a baseline.

A copy of the student and the segmented loss of ``baselines/tm.py`` at that time, run on the
objective's own expert endpoints, plan and learned lr α: the student asks for channels-last input
whatever the channel count (for one-channel images the layout then follows the DSA family's
strides), pools with the project's ``AvgPool2x2`` (for NCHW input a depthwise convolution, whose
double backward PyTorch computes group by group), and differentiates the first segment with respect
to θ0 and m0 too. The synthetic images come from the same parameterization for both paths, so only
the objective's iteration differs.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch.func import functional_call

from baselines.experts import build_network
from benchmark.seeding import seeded


class FrozenSpeedTM:
    """``loss(synthetic, generator)`` as ``TrajectoryMatching.loss`` computed it before issue 33."""

    def __init__(self, objective):
        self.objective = objective
        self.net = (
            seeded(0, lambda: build_network(objective.data, objective.recipe)).to(objective.device).train()
        )
        for p in self.net.parameters():
            p.requires_grad_(False)

    def student_step(self, theta, m, images, labels, batch, draw, alpha, create_graph: bool):
        o = self.objective
        x = images if batch is None else images[batch]
        y = labels if batch is None else labels[batch]
        if draw is not None:
            x = o.dsa.apply(x, draw)
        x = x.contiguous(memory_format=torch.channels_last)
        out = functional_call(self.net, o.unflatten(theta), (x,))
        grad = torch.autograd.grad(F.cross_entropy(out, y), theta, create_graph=create_graph)[0]
        beta = o.config["student_momentum"]
        if beta > 0:
            m = beta * m + (1 - beta) * grad
            return theta - alpha * m, m
        return theta - alpha * grad, None

    def loss(self, synthetic, generator: torch.Generator) -> torch.Tensor:
        o = self.objective
        theta0, target = o.sample_endpoints(generator)
        images, labels = synthetic.synthesize()
        labels = labels.to(o.device)
        plan = o.plan_steps(len(images), generator)
        segment = o.config["graph_steps"] or o._fitting_steps(theta0, images, labels, plan[0])
        return self._loss_segments(theta0, target, images, labels, plan, max(1, segment))

    def _loss_segments(self, theta0, target, images, labels, plan, segment: int) -> torch.Tensor:
        o = self.objective
        momentum = o.config["student_momentum"] > 0
        x = images.detach()
        alpha = o.alpha.detach()
        starts = list(range(0, len(plan), segment))
        theta, m = theta0, torch.zeros_like(theta0) if momentum else None
        states = {0: (theta, m)}
        for k, (batch, draw) in enumerate(plan[: starts[-1]]):
            step_theta = theta.detach().requires_grad_(True)
            theta, m = self.student_step(step_theta, m, x, labels, batch, draw, alpha, False)
            theta, m = theta.detach(), m.detach() if momentum else None
            if k + 1 in starts:
                states[k + 1] = (theta, m)
        x_leaf = x.clone().requires_grad_(True)
        grad_x, grad_alpha = torch.zeros_like(x), torch.zeros((), device=o.device)
        adjoints: list[torch.Tensor] = []
        value = None
        for start in reversed(starts):
            theta_s, m_s = states[start]
            leaf_theta = theta_s.clone().requires_grad_(True)
            leaf_m = m_s.clone().requires_grad_(True) if momentum else None
            a = alpha.clone().requires_grad_(True)
            with torch.enable_grad():
                theta, m = leaf_theta, leaf_m
                for batch, draw in plan[start : start + segment]:
                    theta, m = self.student_step(theta, m, x_leaf, labels, batch, draw, a, True)
                inputs = [leaf_theta, x_leaf, a] + ([leaf_m] if momentum else [])
                if value is None:
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
        surrogate = (images * grad_x).sum() + o.alpha * grad_alpha
        return surrogate - surrogate.detach() + value.detach()
