"""Gradient matching (DC/DSA): the layer distance by hand, the loops, the objective's state."""

from __future__ import annotations

import pytest
import torch

from baselines.dc import (
    DSAGradientMatching,
    GradientMatching,
    gradient_distance,
    layer_distance,
    loops_for_ipc,
)
from baselines.pixels import PixelParameterization
from benchmark.budget import Budget
from benchmark.spec import parse_spec
from benchmark.strategy import FitContext, resolve

PIXELS = {"init": "real", "lr_img": 0.1, "momentum_img": 0.5}


def test_distance_is_zero_for_identical_gradients():
    rng = torch.Generator().manual_seed(0)
    grads = [
        torch.randn(8, 3, 3, 3, generator=rng),
        torch.randn(8, generator=rng),
        torch.randn(10, 32, generator=rng),
    ]
    assert float(gradient_distance(grads, [g.clone() for g in grads])) == pytest.approx(0.0, abs=1e-5)


def test_distance_equals_a_hand_computation():
    # Linear (2, 2): row 0 identical (cos 1), row 1 orthogonal (cos 0); with the 1e-6 of the reference.
    real = torch.tensor([[1.0, 0.0], [0.0, 2.0]])
    syn = torch.tensor([[3.0, 0.0], [1.0, 0.0]])
    expected = (1 - 3 / (3 + 1e-6)) + 1.0
    assert float(layer_distance(real, syn)) == pytest.approx(expected, rel=1e-6)
    # Conv (out 1, in 1, 1×2) reshaped to (1, 2): cos of (1, 1) and (1, -1)... = 0 → 1; and (1, 1)·(2, 0).
    conv_real = torch.tensor([[[[1.0, 1.0]]], [[[1.0, 1.0]]]])
    conv_syn = torch.tensor([[[[1.0, -1.0]]], [[[2.0, 0.0]]]])
    cos = 2 / (2**0.5 * 2 + 1e-6)
    assert float(layer_distance(conv_real, conv_syn)) == pytest.approx(1.0 + (1 - cos), rel=1e-6)
    # 1-D parameters contribute nothing; the total is the sum over layers.
    bias_real, bias_syn = torch.tensor([1.0, 2.0]), torch.tensor([-1.0, 5.0])
    assert float(layer_distance(bias_real, bias_syn)) == 0.0
    total = gradient_distance([real, bias_real, conv_real], [syn, bias_syn, conv_syn])
    assert float(total) == pytest.approx(expected + 1.0 + (1 - cos), rel=1e-6)


def test_loops_follow_the_reference_table():
    assert loops_for_ipc(1) == (1, 1)
    assert loops_for_ipc(10) == (10, 50)
    assert loops_for_ipc(50) == (50, 10)
    assert loops_for_ipc(15) == (10, 50)
    resolved = resolve(parse_spec("dc"), "paper", "fashion_mnist", 10)
    assert resolved.config["outer_loop"] == 10 and resolved.config["iterations"] == 10000
    assert resolved.config["lr_img"] == 0.1 and resolved.config["batch_real"] == 256
    assert resolve(parse_spec("dsa"), "quick", "fashion_mnist", 1).config["dsa"] == "auto"


def dc_config(cls, **overrides):
    config = {key: param.default for key, param in cls.params.items()}
    return config | {"batch_real": 16, "net_width": 4, "outer_loop": 2, "inner_loop": 1} | overrides


@pytest.mark.parametrize("cls", [GradientMatching, DSAGradientMatching])
def test_outer_steps_keep_the_network_and_train_it_between_steps(digits, tmp_path, cls):
    context = FitContext(cache_root=tmp_path, show_progress=False)
    objective = cls(digits, dc_config(cls), 0, context)
    synthetic = PixelParameterization(digits, Budget(2, 10, digits.image_shape), PIXELS, 0, context)
    rng = torch.Generator().manual_seed(0)
    loss = objective.loss(synthetic, rng)
    loss.backward()
    assert float(loss) > 0 and synthetic.images.grad.abs().sum() > 0
    first = objective.net
    weights = [p.detach().clone() for p in first.parameters()]
    objective.loss(synthetic, rng)  # second outer step: same network, trained inner_loop epochs first
    assert objective.net is first
    assert any(not torch.equal(w, p) for w, p in zip(weights, first.parameters(), strict=True))
    state = objective.state_dict()
    objective.loss(synthetic, rng)  # third: a fresh network (outer_loop = 2)
    assert objective.net is not first
    objective.load_state_dict(state)
    assert objective.step_in_outer == 2
    assert all(torch.equal(a, b) for a, b in zip(objective.net.parameters(), first.parameters(), strict=True))


def test_stepping_the_images_lowers_the_matching_loss(digits, tmp_path):
    # A fixed network (long outer loop, no inner training) and a fixed real batch (same generator
    # seed each time): gradient steps on the images must lower the distance.
    context = FitContext(cache_root=tmp_path, show_progress=False)
    objective = GradientMatching(
        digits, dc_config(GradientMatching, outer_loop=100, inner_loop=0), 0, context
    )
    noise = dict(PIXELS, init="noise")
    synthetic = PixelParameterization(digits, Budget(1, 10, digits.image_shape), noise, 0, context)
    objective.loss(synthetic, torch.Generator().manual_seed(0))  # draws the network
    optimizer = torch.optim.SGD(synthetic.parameters(), lr=0.1, momentum=0.5)
    losses = []
    for _ in range(15):
        loss = objective.loss(synthetic, torch.Generator().manual_seed(5))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(float(loss.detach()))
    assert losses[-1] < 0.9 * losses[0]
