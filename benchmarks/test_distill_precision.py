"""The distillation precision (``--distill-precision bf16``) against fp32, in alternating rounds in one
process: the TM iteration at SPEED's CIFAR10 IPC 10 preset against the frozen fp32 baseline
(benchmarks/frozen_tm.py) and today's fp32 path; SPEED × TM and SPEED × DM at the quick Fashion-MNIST
IPC 1 preset, bf16 against fp32. Data are random images of each dataset's shape and TM's expert
endpoints random parameter vectors (benchmarks/test_objectives.py, test_speed_tm_speed.py); bf16 is
the loop's own autocast (benchmark/distill/precision.py)."""

from __future__ import annotations

import math
import os
import statistics

import pytest
import torch

from benchmark.distill.precision import autocast
from benchmarks.common import alternate_rounds, random_classdata


def _iteration(objective, synthetic, precision: str):
    params = [*synthetic.parameters(), *(p for g in objective.optimizer_groups() for p in g["params"])]

    def run(generator):
        with autocast(precision, "cpu"):
            loss = (objective.loss(synthetic, generator) + synthetic.regularizer()).float()
        loss.backward()
        for p in params:
            p.grad = None

    return run


def _ratios(times, slow: str, fast: str) -> list[float]:
    return [s / f for s, f in zip(times[slow], times[fast], strict=True)]


def test_tm_iteration_bf16_against_the_frozen_baseline(benchmark):
    """The TM iteration at SPEED's CIFAR10 IPC 10 preset (10 student steps): the frozen fp32 baseline,
    today's fp32 path and bf16, alternating (target: frozen ÷ bf16 ≥ 2.1×)."""
    from benchmarks.test_objectives import _frozen_iteration, _speed_tm_preset

    objective, synthetic, endpoints = _speed_tm_preset()
    paths = {
        "frozen": _frozen_iteration(objective, synthetic, endpoints),
        "fp32": _iteration(objective, synthetic, "fp32"),
        "bf16": _iteration(objective, synthetic, "bf16"),
    }
    rounds = int(os.environ.get("BENCH_ROUNDS", "3"))
    times, load_before, load_after = alternate_rounds(paths, rounds)
    frozen_bf16, fp32_bf16 = _ratios(times, "frozen", "bf16"), _ratios(times, "fp32", "bf16")
    info = {f"{name}_s": value for name, value in times.items()} | {
        "frozen_over_bf16": frozen_bf16, "median_frozen_over_bf16": statistics.median(frozen_bf16),
        "fp32_over_bf16": fp32_bf16, "median_fp32_over_bf16": statistics.median(fp32_bf16),
        "threads": torch.get_num_threads(), "load_before": load_before, "load_after": load_after,
    }  # fmt: skip
    benchmark.extra_info.update(info)
    median = {name: statistics.median(value) for name, value in times.items()}
    print(
        f"\nTM iteration, CIFAR10 IPC 10 preset, {torch.get_num_threads()} threads: frozen "
        f"{median['frozen']:.2f} s, fp32 {median['fp32']:.2f} s, bf16 {median['bf16']:.2f} s; frozen ÷ "
        f"bf16 {info['median_frozen_over_bf16']:.2f}× (target 2.1×), fp32 ÷ bf16 "
        f"{info['median_fp32_over_bf16']:.2f}× "
        f"(medians of {rounds} alternating rounds; per round {', '.join(f'{r:.2f}' for r in frozen_bf16)}; "
        f"load average {load_before[0]:.2f} before, {load_after[0]:.2f} after)"
    )
    assert all(math.isfinite(r) and r > 0 for r in frozen_bf16)
    benchmark.pedantic(lambda: None, rounds=1, iterations=1)


def _speed_dm_preset():
    """SPEED × DM at the quick Fashion-MNIST IPC 1 preset (the resolved spec; SPEED from noise)."""
    from baselines.dm import DistributionMatching
    from benchmark.budget import Budget
    from benchmark.spec import parse_spec
    from benchmark.strategy import FitContext, resolve
    from speed.parameterization import PARAMS, SpeedParameterization

    config = resolve(parse_spec("speed:objective=dm"), "quick", "fashion_mnist", 1).config
    data = random_classdata("fashion_mnist", (1, 28, 28), per_class=config["batch_real"])
    dm = {k: config[k] for k in DistributionMatching.params}
    objective = DistributionMatching(data, dm, 0, FitContext())
    speed = {k: config[k] for k in PARAMS} | {"init": "noise"}
    synthetic = SpeedParameterization(data, Budget(1, 10, data.image_shape), speed, 0, FitContext()).train()
    return objective, synthetic


@pytest.mark.parametrize("objective_name", ["tm", "dm"])
def test_speed_fashion_mnist_ipc1_bf16_against_fp32(benchmark, objective_name):
    """One SPEED × TM or SPEED × DM iteration at the quick Fashion-MNIST IPC 1 preset, bf16 against
    fp32, alternating."""
    from benchmarks.test_speed_tm_speed import _preset

    if objective_name == "tm":
        objective, synthetic, _ = _preset(1, None)
    else:
        objective, synthetic = _speed_dm_preset()
    paths = {precision: _iteration(objective, synthetic, precision) for precision in ("fp32", "bf16")}
    rounds = int(os.environ.get("BENCH_ROUNDS", "3"))
    repeats = int(os.environ.get("BENCH_REPEATS", "3"))
    times, load_before, load_after = alternate_rounds(paths, rounds, repeats)
    ratios = _ratios(times, "fp32", "bf16")
    info = {"fp32_s": times["fp32"], "bf16_s": times["bf16"], "ratios": ratios,
            "median_ratio": statistics.median(ratios), "threads": torch.get_num_threads(),
            "load_before": load_before, "load_after": load_after}  # fmt: skip
    benchmark.extra_info.update(info)
    print(
        f"\nSPEED × {objective_name.upper()} iteration, Fashion-MNIST IPC 1 quick, {torch.get_num_threads()} "
        f"threads: fp32 {statistics.median(times['fp32']):.3f} s, "
        f"bf16 {statistics.median(times['bf16']):.3f} s, "
        f"fp32 ÷ bf16 {info['median_ratio']:.2f}× (median of {rounds} alternating rounds of {repeats} "
        f"iterations; per round {', '.join(f'{r:.2f}' for r in ratios)}; load average {load_before[0]:.2f} "
        f"before, {load_after[0]:.2f} after)"
    )
    assert all(math.isfinite(r) and r > 0 for r in ratios)
    benchmark.pedantic(lambda: None, rounds=1, iterations=1)
