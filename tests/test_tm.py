"""Trajectory matching: the loss's fixed points, its gradients, the learned lr, a toy problem."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from baselines.pixels import PixelParameterization
from baselines.tm import TrajectoryMatching
from benchmark.budget import Budget
from benchmark.distill.loop import distill
from benchmark.errors import UserInputError
from benchmark.strategy import FitContext

PIXELS = {"init": "real", "lr_img": 1.0, "momentum_img": 0.5}


def tm_config(**overrides):
    config = {key: param.default for key, param in TrajectoryMatching.params.items()}
    config |= {
        "num_experts": 2,
        "expert_train_epochs": 3,
        "max_start": 1,
        "expert_epochs": 2,
        "expert_subset": 10,
        "net_width": 4,
        "syn_steps": 4,
        "dsa": "none",
    }
    return config | overrides


def make(digits, tmp_path: Path, ipc: int = 2, **overrides):
    context = FitContext(cache_root=tmp_path, show_progress=False)
    objective = TrajectoryMatching(digits, tm_config(**overrides), 0, context)
    synthetic = PixelParameterization(digits, Budget(ipc, 10, digits.image_shape), PIXELS, 0, context)
    return objective, synthetic


def fixed_endpoints(objective, theta0, target):
    objective.sample_endpoints = lambda generator: (theta0.clone(), target.clone())


def random_endpoints(objective, seed=0):
    size = sum(objective.sizes)
    rng = torch.Generator().manual_seed(seed)
    theta0 = 0.1 * torch.randn(size, generator=rng)
    fixed_endpoints(objective, theta0, theta0 + 0.1 * torch.randn(size, generator=rng))


@pytest.mark.parametrize("graph_steps", [1, 4])
@pytest.mark.parametrize("momentum", [0.0, 0.9])
def test_loss_is_exactly_one_when_the_student_does_not_move(digits, tmp_path, graph_steps, momentum):
    objective, synthetic = make(
        digits, tmp_path, lr_init=0.0, min_lr=0.0, graph_steps=graph_steps, student_momentum=momentum
    )
    random_endpoints(objective)
    loss = objective.loss(synthetic, torch.Generator().manual_seed(0))
    assert float(loss.detach()) == 1.0


@pytest.mark.parametrize("momentum", [0.0, 0.9])
@pytest.mark.parametrize("graph_steps", [1, 3])
def test_segments_give_the_full_graph_gradients(digits, tmp_path, momentum, graph_steps):
    grads = []
    for segment in (graph_steps, 4):  # 4 = syn_steps: one segment, the published full graph
        objective, synthetic = make(
            digits,
            tmp_path,
            graph_steps=segment,
            student_momentum=momentum,
            batch_syn=7,
            dsa="color_crop_cutout_scale_rotate",
        )
        random_endpoints(objective)
        loss = objective.loss(synthetic, torch.Generator().manual_seed(3))
        loss.backward()
        grads.append((float(loss.detach()), synthetic.images.grad.clone(), float(objective.alpha.grad)))
    (loss_a, images_a, alpha_a), (loss_b, images_b, alpha_b) = grads
    assert loss_a == pytest.approx(loss_b, rel=1e-5)
    assert torch.allclose(images_a, images_b, rtol=1e-3, atol=1e-4 * images_b.abs().max())
    assert alpha_a == pytest.approx(alpha_b, rel=1e-4)
    assert images_a.abs().max() > 0


def test_loss_falls_on_a_toy_problem_with_a_known_answer(digits, tmp_path):
    # The target is where the student gets from θ0 when trained on a hidden synthetic set; starting
    # from other real images, matching must move the images (and the loss) towards it.
    objective, synthetic = make(digits, tmp_path, ipc=1, syn_steps=5, lr_init=0.05)
    _, hidden = make(digits, tmp_path, ipc=1)
    torch.manual_seed(0)
    with torch.no_grad():
        hidden.images.copy_(torch.randn_like(hidden.images))
    size = sum(objective.sizes)
    theta0 = 0.3 * torch.randn(size, generator=torch.Generator().manual_seed(1))
    fixed_endpoints(objective, theta0, theta0)
    with torch.enable_grad():  # the target: θ0 after the same student steps on the hidden images
        theta, m = theta0.clone().requires_grad_(True), None
        images, labels = hidden.synthesize()
        for _ in range(5):
            theta, m = objective.student_step(theta, m, images.detach(), labels, None, None, 0.05, False)
            theta = theta.detach().requires_grad_(True)
    fixed_endpoints(objective, theta0, theta.detach())
    synthetic.config = dict(PIXELS, lr_img=100.0)
    objective.config = dict(objective.config, lr_lr=0.0)
    context = FitContext(cache_root=tmp_path, show_progress=False)
    losses = distill(synthetic, objective, 20, 0, context)
    assert losses[0] > 1e-3, losses[:3]
    assert min(losses[-5:]) < 0.5 * losses[0]


def test_alpha_is_clipped_after_every_step(digits, tmp_path):
    objective, _ = make(digits, tmp_path, lr_init=0.01, min_lr=0.001)
    with torch.no_grad():
        objective.alpha.fill_(-5.0)
    objective.after_step()
    assert float(objective.alpha) == pytest.approx(0.001)
    assert objective.learned_lr() == pytest.approx(0.001)
    state = objective.state_dict()
    with torch.no_grad():
        objective.alpha.fill_(0.5)
    objective.load_state_dict(state)
    assert objective.learned_lr() == pytest.approx(0.001)
    group = objective.optimizer_groups()[0]
    assert group["params"] == [objective.alpha] and group["momentum"] == 0.5


def test_start_and_target_must_fit_the_expert_epochs(digits, tmp_path):
    with pytest.raises(UserInputError, match="max_start"):
        make(digits, tmp_path, max_start=3, expert_epochs=2, expert_train_epochs=4)


def test_tm_strategy_builds_experts_and_stores_the_learned_lr(digits, tmp_path):
    from benchmark.spec import parse_spec
    from benchmark.strategy import resolve, strategy_class

    spec = parse_spec(
        "tm:iterations=2:num_experts=1:expert_train_epochs=3:max_start=1:expert_subset=5:net_width=4"
        ":syn_steps=2:dsa=none"
    )
    resolved = resolve(spec, "quick", "digits", 1)
    context = FitContext(cache_root=tmp_path, show_progress=False)
    buffer = strategy_class("tm")(resolved.config).fit(digits, Budget(1, 10, digits.image_shape), 0, context)
    assert buffer.learned_lr is not None and buffer.learned_lr >= 0.001
    assert buffer.tensors["images"].shape == (10, *digits.image_shape)
    assert len(list((tmp_path / "cache" / "experts").glob("*/expert_*.safetensors"))) == 1


@pytest.mark.parametrize("graph_steps", [0, 1, 2])
def test_the_fast_student_equals_the_frozen_pre_optimisation_one(digits, tmp_path, graph_steps):
    """The student as it was before the performance work (benchmarks/frozen_tm.py: full graph,
    NCHW, plain functional ops) and today's default give the same loss and gradients."""
    from benchmarks.frozen_tm import FrozenTM

    objective, synthetic = make(digits, tmp_path, graph_steps=graph_steps, student_momentum=0.9, lr_init=0.03)
    random_endpoints(objective, seed=4)
    loss = objective.loss(synthetic, torch.Generator().manual_seed(0))
    loss.backward()
    frozen = FrozenTM(objective.net, syn_steps=4, batch_syn=10**6, momentum=0.9, alpha=0.03)
    theta0, target = objective.sample_endpoints(None)
    images = synthetic.images.detach().clone().requires_grad_(True)
    labels = torch.as_tensor(synthetic.classes).repeat_interleave(synthetic.images_per_class)
    frozen.order = list(range(len(images)))  # the whole set every step, as batch_syn=0 does
    expected = frozen.loss(images, labels, theta0, target, torch.Generator().manual_seed(0), augment=False)
    expected.backward()
    assert float(loss.detach()) == pytest.approx(float(expected.detach()), rel=1e-5)
    torch.testing.assert_close(
        synthetic.images.grad, images.grad, rtol=1e-3, atol=1e-5 * images.grad.abs().max()
    )
    assert float(objective.alpha.grad) == pytest.approx(float(frozen.alpha.grad), rel=1e-4)


@pytest.mark.parametrize("side", [8, 7])
def test_student_pool_equals_avg_pool2d_in_every_derivative_order(side):
    """Values, gradients and gradients of gradients bit for bit, odd sides (last row dropped) too."""
    import torch.nn.functional as F

    from baselines.tm import StudentPool
    from benchmark.nets.layers import AvgPool2x2

    rng = torch.Generator().manual_seed(0)
    x0 = torch.randn(3, 4, side, side, generator=rng)
    v = torch.randn(3, 4, side // 2, side // 2, generator=rng)
    u = torch.randn(3, 4, side, side, generator=rng)

    def derivatives(pool):
        x = x0.clone().requires_grad_(True)
        w = v.clone().requires_grad_(True)
        y = pool(x)
        grad = torch.autograd.grad((y * w).sum(), x, create_graph=True)[0]
        return (y, grad, *torch.autograd.grad((grad * u).sum() + (y**2).sum(), (x, w)))

    expected = derivatives(lambda x: F.avg_pool2d(x, 2, 2))
    for got, want in zip(derivatives(StudentPool(AvgPool2x2())), expected, strict=True):
        assert torch.equal(got, want)
