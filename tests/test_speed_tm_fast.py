"""SPEED × TM after the issue 33 speed-up equals the iteration before it (benchmarks/frozen_speed_tm.py):
the same loss trajectory and the same gradients for the SAETs, SCMs, FReeNet and α."""

from __future__ import annotations

import pytest
import torch

from baselines.tm import TrajectoryMatching
from benchmark.budget import Budget
from benchmark.distill.loop import distill
from benchmark.strategy import FitContext
from speed.parameterization import SpeedParameterization

SPEED = {"dim": 8, "tokens": 6, "heads": 2, "k": 5, "depth": 1, "patch": 2, "init": "real", "init_steps": 5,
         "sparsify": "forward", "images_per_class": 3, "lr_saet": 10.0, "lr_scm": 100.0,
         "lr_freenet": 0.01}  # fmt: skip


def build(digits, tmp_path, frozen: bool, graph_steps: int, dsa: str):
    from benchmarks.frozen_speed_tm import FrozenSpeedTM

    context = FitContext(cache_root=tmp_path, show_progress=False)
    config = {key: param.default for key, param in TrajectoryMatching.params.items()}
    config |= {"num_experts": 1, "expert_train_epochs": 3, "max_start": 1, "net_width": 4, "syn_steps": 4,
               "batch_syn": 8, "dsa": dsa, "student_momentum": 0.9, "momentum_lr": 0.95, "lr_lr": 1e-3,
               "lr_init": 0.01, "graph_steps": graph_steps}  # fmt: skip
    objective = TrajectoryMatching(digits, config, 0, context)
    size = sum(objective.sizes)
    rng = torch.Generator().manual_seed(3)
    theta0 = 0.1 * torch.randn(size, generator=rng)
    target = theta0 + 0.1 * torch.randn(size, generator=rng)
    objective.sample_endpoints = lambda generator: (theta0.clone(), target.clone())
    if frozen:
        objective.loss = FrozenSpeedTM(objective).loss
    synthetic = SpeedParameterization(digits, Budget(10, 1, digits.image_shape), SPEED, 0, context).train()
    return objective, synthetic, context


@pytest.mark.parametrize(("graph_steps", "dsa"), [(0, "auto"), (1, "auto"), (2, "none")])
def test_same_loss_trajectory_and_gradients_as_before(digits, tmp_path, graph_steps, dsa):
    runs = {}
    for frozen in (True, False):
        objective, synthetic, context = build(digits, tmp_path, frozen, graph_steps, dsa)
        losses = distill(synthetic, objective, 3, seed=5, context=context)
        loss = objective.loss(synthetic, torch.Generator().manual_seed(7)) + synthetic.regularizer()
        loss.backward()
        grads = {name: p.grad.clone() for name, p in synthetic.named_parameters()}
        runs[frozen] = (losses, float(loss.detach()), grads, float(objective.alpha.grad))
    (old_losses, old_loss, old_grads, old_alpha), (new_losses, new_loss, new_grads, new_alpha) = runs.values()
    assert new_losses == pytest.approx(old_losses, rel=1e-5)
    assert new_loss == pytest.approx(old_loss, rel=1e-5)
    assert set(new_grads) == set(old_grads) and {"saet", "scm"} <= set(new_grads)
    assert any(name.startswith("freenet.") for name in new_grads)
    for name, grad in new_grads.items():
        torch.testing.assert_close(
            grad, old_grads[name], rtol=1e-4, atol=1e-5 * float(old_grads[name].abs().max())
        )
    assert new_alpha == pytest.approx(old_alpha, rel=1e-4)
    assert any(float(g.abs().max()) > 0 for g in new_grads.values())
