"""Average pooling in DM's embedding network: ours (a depthwise convolution of quarters,
benchmark/nets/layers.py) against PyTorch's NCHW kernel, alone and in a whole SPEED × DM continual
step.

Shape: the quick DM embedding of one SPEED × DM iteration at Fashion-MNIST IPC 1 (10 classes × 64
real images + 140 synthetic ones, ConvNet width 32, first block: 780 × 32 × 28 × 28). One round =
forward + backward of each, alternating in one process; the ratio (PyTorch / ours, median of the
rounds) and the load average go to ``extra_info`` and are printed (``-s``).
"""

from __future__ import annotations

import os
import statistics
import time

import torch
import torch.nn.functional as F


def test_average_pooling_against_pytorchs_kernel(benchmark):
    from benchmark.nets.layers import AvgPool2x2

    x = torch.randn(780, 32, 28, 28, generator=torch.Generator().manual_seed(0))
    grad = torch.randn(780, 32, 14, 14, generator=torch.Generator().manual_seed(1))
    ours = AvgPool2x2()

    def timed(pool) -> float:
        leaf = x.clone().requires_grad_()
        start = time.perf_counter()
        pool(leaf).backward(grad)
        return time.perf_counter() - start

    times: dict[str, list[float]] = {"pytorch": [], "ours": []}
    load_before = os.getloadavg()[0]
    for _ in range(int(os.environ.get("BENCH_ROUNDS", "5"))):
        times["pytorch"].append(timed(lambda t: F.avg_pool2d(t, 2, 2)))
        times["ours"].append(timed(ours))
    benchmark.pedantic(lambda: timed(ours), rounds=1, iterations=1)
    ratio = statistics.median(times["pytorch"]) / statistics.median(times["ours"])
    benchmark.extra_info |= {"pytorch_s": times["pytorch"], "ours_s": times["ours"], "ratio": ratio,
                             "load_before": load_before, "load_after": os.getloadavg()[0]}  # fmt: skip
    print(
        f"\naverage pooling fwd+bwd {tuple(x.shape)}: PyTorch {statistics.median(times['pytorch']):.3f} s, "
        f"ours {statistics.median(times['ours']):.3f} s, {ratio:.2f}× (load {load_before:.1f})"
    )


def test_speed_dm_continual_step_with_pytorchs_pooling_and_ours(benchmark):
    """One SPEED × DM distillation as a continual step fits it (2 classes of Fashion-MNIST-sized
    noise, IPC 3, 201 iterations, no real-image fit), with PyTorch's pooling and with ours,
    alternating; the buffers must be the same bytes."""
    from benchmark.budget import Budget
    from benchmark.nets.layers import AvgPool2x2
    from benchmark.spec import parse_spec
    from benchmark.strategy import FitContext, resolve, strategy_class
    from benchmarks.common import random_classdata

    data = random_classdata("fashion_mnist", (1, 28, 28), per_class=300, classes=2)
    resolved = resolve(parse_spec("speed:objective=dm"), "quick", "fashion_mnist", 3)
    config = dict(resolved.config, iterations=201, init_steps=0)
    ours = AvgPool2x2.forward

    def fit(forward):
        AvgPool2x2.forward = forward
        try:
            start = time.perf_counter()
            buffer = strategy_class(resolved.name)(config).fit(
                data, Budget(3, 2, (1, 28, 28)), 0, FitContext(show_progress=False)
            )
            return time.perf_counter() - start, buffer.materialize()[0]
        finally:
            AvgPool2x2.forward = ours

    times: dict[str, list[float]] = {"pytorch": [], "ours": []}
    images = {}
    load_before = os.getloadavg()[0]
    for _ in range(int(os.environ.get("BENCH_ROUNDS", "3"))):
        for name, forward in (("pytorch", lambda self, t: F.avg_pool2d(t, 2, 2)), ("ours", ours)):
            seconds, images[name] = fit(forward)
            times[name].append(seconds)
    assert torch.equal(images["pytorch"], images["ours"])
    benchmark.pedantic(lambda: None, rounds=1, iterations=1)
    ratio = statistics.median(times["pytorch"]) / statistics.median(times["ours"])
    benchmark.extra_info |= {"pytorch_s": times["pytorch"], "ours_s": times["ours"], "ratio": ratio,
                             "load_before": load_before, "load_after": os.getloadavg()[0]}  # fmt: skip
    pytorch_s, ours_s = statistics.median(times["pytorch"]), statistics.median(times["ours"])
    print(
        f"\nSPEED × DM continual step, 201 iterations: PyTorch pooling {pytorch_s:.2f} s, "
        f"ours {ours_s:.2f} s, {ratio:.2f}× (load {load_before:.1f})"
    )
