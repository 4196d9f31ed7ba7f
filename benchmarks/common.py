"""Helpers of the performance benchmarks: random data, the matmul peak, timed steps, alternating rounds."""

from __future__ import annotations

import os
import time

import torch


def random_classdata(
    name: str, shape: tuple[int, int, int], per_class: int, classes: int = 10, seed: int = 0
):
    """A ClassData of normal noise with ``per_class`` training images per class (timing only)."""
    from benchmark.data.classdata import ClassData, Split

    rng = torch.Generator().manual_seed(seed)

    def split(n: int) -> Split:
        labels = torch.arange(classes).repeat_interleave(n)
        return Split(torch.randn(len(labels), *shape, generator=rng), labels)

    return ClassData(
        name=name,
        class_names=[f"class{c}" for c in range(classes)],
        image_shape=shape,
        mean=(0.0,) * shape[0],
        std=(1.0,) * shape[0],
        train=split(per_class),
        val=split(2),
        test=split(2),
    )


def matmul_peak_gflops(size: int = 4096, repeats: int = 5) -> float:
    """This machine's fp32 matrix-multiply rate now: best of ``repeats`` torch.mm of size × size."""
    import time

    a, b = torch.randn(size, size), torch.randn(size, size)
    torch.mm(a, b)
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        torch.mm(a, b)
        best = min(best, time.perf_counter() - start)
    return 2 * size**3 / best / 1e9


def median_sgd_step_seconds(net, images, labels, steps: int, weight_decay: float = 0.0) -> float:
    """Median wall time of ``steps`` cross-entropy SGD steps (lr 0.01, momentum 0.9) of ``net`` on
    one batch, the first two left out as warm-up."""
    import statistics
    import time

    import torch.nn.functional as F

    optimizer = torch.optim.SGD(net.parameters(), lr=0.01, momentum=0.9, weight_decay=weight_decay)
    times = []
    for _ in range(steps):
        start = time.perf_counter()
        loss = F.cross_entropy(net(images), labels)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        times.append(time.perf_counter() - start)
    return statistics.median(times[2:])


def alternate_rounds(
    paths: dict, rounds: int, repeats: int = 1
) -> tuple[dict[str, list[float]], tuple, tuple]:
    """Seconds per call of each path, ``rounds`` alternating rounds of ``repeats`` calls after one
    warm-up call each; and the load average before and after."""
    generator = torch.Generator().manual_seed(1)
    for run in paths.values():
        run(generator)
    load_before = os.getloadavg()
    times: dict[str, list[float]] = {name: [] for name in paths}
    for _ in range(rounds):
        for name, run in paths.items():
            start = time.perf_counter()
            for _ in range(repeats):
                run(generator)
            times[name].append((time.perf_counter() - start) / repeats)
    return times, load_before, os.getloadavg()
