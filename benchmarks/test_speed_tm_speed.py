"""One SPEED × TM iteration, today's objective against the frozen pre-issue-33 one
(benchmarks/frozen_speed_tm.py), at the quick Fashion-MNIST IPC 1 preset and at a 2-class continual
step (IPC 3), in alternating rounds in one process.

The synthetic set is the strategy's resolved SPEED parameterization (from noise: the real-image fit
is not what this measures), the data random images of Fashion-MNIST's shape, and the expert
endpoints random parameter vectors of the right size; everything else is the objective's own code.
"""

from __future__ import annotations

import math
import os
import statistics

import pytest
import torch

from benchmarks.common import alternate_rounds, random_classdata

SIZES = {"fashion_mnist_ipc1": (1, None), "continual_step_2_classes_ipc3": (3, [0, 1])}


def _preset(ipc: int, classes: list[int] | None):
    from baselines.tm import TrajectoryMatching
    from benchmark.budget import Budget
    from benchmark.spec import parse_spec
    from benchmark.strategy import FitContext, resolve
    from speed.parameterization import PARAMS, SpeedParameterization

    data = random_classdata("fashion_mnist", (1, 28, 28), per_class=8)
    if classes is not None:
        data = data.restricted_to(classes)
    config = resolve(parse_spec("speed"), "quick", "fashion_mnist", ipc, classes=len(data.classes)).config
    objective = TrajectoryMatching(data, {k: config[k] for k in TrajectoryMatching.params}, 0, FitContext())
    size = sum(objective.sizes)
    rng = torch.Generator().manual_seed(0)
    theta0 = torch.randn(size, generator=rng) * 0.05
    target = theta0 + torch.randn(size, generator=rng) * 0.01
    objective.sample_endpoints = lambda generator: (theta0, target)
    speed = {k: config[k] for k in PARAMS} | {"init": "noise"}
    budget = Budget(len(data.classes), ipc, data.image_shape)
    synthetic = SpeedParameterization(data, budget, speed, 0, FitContext()).train()
    return objective, synthetic, config


@pytest.mark.parametrize("size", list(SIZES))
def test_speed_tm_iteration_against_the_frozen_one(benchmark, size):
    from benchmarks.frozen_speed_tm import FrozenSpeedTM

    objective, synthetic, config = _preset(*SIZES[size])
    frozen = FrozenSpeedTM(objective)
    params = [*synthetic.parameters(), objective.alpha]

    def iteration(loss_of):
        def run(generator):
            loss = loss_of(synthetic, generator) + synthetic.regularizer()
            loss.backward()
            for p in params:
                p.grad = None

        return run

    paths = {"frozen": iteration(frozen.loss), "new": iteration(objective.loss)}
    rounds = int(os.environ.get("BENCH_ROUNDS", "3"))
    repeats = int(os.environ.get("BENCH_REPEATS", "3"))
    times, load_before, load_after = alternate_rounds(paths, rounds, repeats)
    ratios = [f / n for f, n in zip(times["frozen"], times["new"], strict=True)]
    ratio = statistics.median(ratios)
    info = {
        "images": synthetic.plan.images, "batch_syn": config["batch_syn"], "threads": torch.get_num_threads(),
        "frozen_s": times["frozen"], "new_s": times["new"], "ratios": ratios, "median_ratio": ratio,
        "load_before": load_before, "load_after": load_after,
    }  # fmt: skip
    benchmark.extra_info.update(info)
    print(
        f"\nSPEED × TM iteration, {size} ({synthetic.plan.images} synthetic images, batch_syn "
        f"{config['batch_syn']}, {torch.get_num_threads()} threads): frozen "
        f"{statistics.median(times['frozen']):.3f} s, new {statistics.median(times['new']):.3f} s, ratio "
        f"{ratio:.2f}× (median of {rounds} alternating rounds of {repeats} iterations, per-round "
        f"{', '.join(f'{r:.2f}' for r in ratios)}; load average {load_before[0]:.2f} before, "
        f"{load_after[0]:.2f} after)"
    )
    assert math.isfinite(ratio) and ratio > 0
    benchmark.pedantic(lambda: None, rounds=1, iterations=1)
