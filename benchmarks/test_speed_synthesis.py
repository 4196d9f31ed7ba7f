"""SPEED synthesis at the CIFAR10 IPC10 preset (D 96, K 64, H 3, R 1, patch 4, N 1240)."""

from __future__ import annotations

import pytest
import torch

from benchmarks.common import random_classdata

PRESET = {"dim": 96, "tokens": 64, "heads": 3, "k": 48, "depth": 1, "patch": 4, "images_per_class": 124}


@pytest.fixture(scope="module")
def speed_set():
    from benchmark.budget import Budget
    from benchmark.strategy import FitContext
    from speed.parameterization import SpeedParameterization

    data = random_classdata("cifar10", (3, 32, 32), per_class=4)
    synthetic = SpeedParameterization(data, Budget(10, 10, (3, 32, 32)), PRESET, 0, FitContext())
    assert synthetic.plan.images == 1240
    return synthetic.train()


def test_speed_decode_batch_128_forward_backward(benchmark, speed_set):
    """Decode the 128 images of one TM student minibatch and back-propagate into E, A and FReeNet."""
    chosen = torch.randperm(speed_set.plan.images, generator=torch.Generator().manual_seed(0))[:128]

    def step():
        images = speed_set.freenet(speed_set.saet, speed_set.codes(speed_set.scm[chosen]))
        images.square().mean().backward()
        speed_set.zero_grad(set_to_none=True)
        return images.shape

    assert benchmark(step) == (128, 3, 32, 32)


def test_speed_decode_all_1240_images(benchmark, speed_set):
    """Decode the whole synthetic set (N 1240) in eval mode (top-k sparsified, as exported)."""
    speed_set.eval()
    try:
        with torch.no_grad():
            images, labels = benchmark(speed_set.synthesize)
    finally:
        speed_set.train()
    assert images.shape == (1240, 3, 32, 32) and len(labels) == 1240
