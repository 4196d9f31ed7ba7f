"""Corruption generation (CIFAR-10-C style) of 100 CIFAR-sized images per corruption at severity 3."""

from __future__ import annotations

import numpy as np
import pytest

CORRUPTIONS = ["gaussian_noise", "motion_blur", "glass_blur", "fog", "jpeg_compression"]


@pytest.mark.parametrize("corruption", CORRUPTIONS)
def test_corruption_generation(benchmark, corruption):
    generate = pytest.importorskip("benchmark.corruptions.generate", reason="benchmark/corruptions not there")
    try:
        generate.require_corrupt_tta()
    except ImportError as error:
        pytest.skip(str(error))
    images = np.random.default_rng(0).integers(0, 256, (100, 32, 32, 3), dtype=np.uint8)
    out = benchmark.pedantic(generate.corrupt_images, args=(images, corruption, 3, 0), rounds=2, iterations=1)
    assert out.shape == images.shape and out.dtype == np.uint8
