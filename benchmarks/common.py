"""Helpers of the performance benchmarks: random data and the matmul peak."""

from __future__ import annotations

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
