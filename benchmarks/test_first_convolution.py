"""The grayscale first convolution of DM's embedding networks without a graph: PyTorch's native
im2col kernel (``GrayscaleConv2d``, benchmark/nets/layers.py) against oneDNN's, alone at the real
batch of a continual step and in a whole SPEED × DM continual step. Alternating rounds in one
process; the ratio (oneDNN / native, median of the rounds) and the load average go to
``extra_info`` and are printed (``-s``)."""

from __future__ import annotations

import os
import statistics
import time
from contextlib import nullcontext
from unittest.mock import patch

import torch


def _onednn():
    from benchmark.nets.layers import GrayscaleConv2d

    return patch.object(GrayscaleConv2d, "forward", torch.nn.Conv2d.forward)


def _report(benchmark, what: str, times: dict[str, list[float]], load_before: float) -> None:
    ratio = statistics.median(times["onednn"]) / statistics.median(times["native"])
    benchmark.extra_info |= {"onednn_s": times["onednn"], "native_s": times["native"], "ratio": ratio,
                             "load_before": load_before, "load_after": os.getloadavg()[0]}  # fmt: skip
    onednn_s, native_s = statistics.median(times["onednn"]), statistics.median(times["native"])
    print(f"\n{what}: oneDNN {onednn_s:.4f} s, native {native_s:.4f} s, {ratio:.2f}× "
          f"(load {load_before:.1f})")  # fmt: skip


def test_first_convolution_alone(benchmark):
    """The 2-class step's real batch (128 × 1 × 28 × 28 → 32 channels, padding 3), 50 forwards."""
    from benchmark.nets.layers import GrayscaleConv2d

    torch.manual_seed(0)
    conv = GrayscaleConv2d(1, 32, 3, padding=3).requires_grad_(False)
    x = torch.randn(128, 1, 28, 28)
    times: dict[str, list[float]] = {"onednn": [], "native": []}
    load_before = os.getloadavg()[0]
    for _ in range(int(os.environ.get("BENCH_ROUNDS", "5"))):
        for name, installed in (("onednn", _onednn), ("native", nullcontext)):
            with installed(), torch.no_grad():
                conv(x)
                start = time.perf_counter()
                for _ in range(50):
                    conv(x)
                times[name].append(time.perf_counter() - start)
    benchmark.pedantic(lambda: None, rounds=1, iterations=1)
    _report(benchmark, "first convolution, 50 forwards of 128 × 1 × 28 × 28", times, load_before)


def test_speed_dm_continual_step_with_onednns_first_convolution_and_native(benchmark):
    """A whole SPEED × DM continual step (201 iterations) with each; the buffers must be the same
    bytes."""
    from benchmarks.common import alternate_speed_dm_steps

    load_before = os.getloadavg()[0]
    rounds = int(os.environ.get("BENCH_ROUNDS", "3"))
    times, images = alternate_speed_dm_steps({"onednn": _onednn, "native": nullcontext}, rounds)
    assert torch.equal(images["onednn"], images["native"])
    benchmark.pedantic(lambda: None, rounds=1, iterations=1)
    _report(benchmark, "SPEED × DM continual step, 201 iterations", times, load_before)
