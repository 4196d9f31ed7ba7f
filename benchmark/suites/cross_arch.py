"""The cross-architecture suite: each buffer evaluated on several networks (SPEED paper Table 3).

Every (strategy, ipc, seed) buffer trains K fresh networks of each architecture (ConvNet, MLP,
ResNet18, ViT by default; AlexNet, VGG11, … with ``--networks``); the table has one column per
network. Each network has its own recipe (``recipes`` below), chosen on the validation split with
:func:`learning_rate_study` and applied to every strategy alike (decision 5). The study and its
numbers are in ``docs/suites.md``.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pandas as pd

from benchmark.cache import stable_hash
from benchmark.registries import NETWORKS
from benchmark.seeding import derive_seed
from benchmark.suites.base import Cell, Suite, TableSpec
from benchmark.training.job import EvaluationJob


def network_observations(frame: pd.DataFrame) -> pd.DataFrame:
    """One column per evaluation network, in registration order."""
    obs = frame[frame["metric"] == "accuracy"].copy()
    obs["column"] = obs["network"].astype(str)
    obs["order"] = obs["network"].map(lambda n: (NETWORKS.position(str(n)),))
    obs["axis"] = float("nan")
    return obs


NARROW_RESNET = {"network_options": {"widths": [16, 32, 64, 128]}}


class CrossArchSuite(Suite):
    """Accuracy of each (strategy, ipc) buffer on each evaluation network (one column per network)."""

    name = "cross-arch"
    table = TableSpec(observe=network_observations, rows=("label", "ipc"), figure="bars")
    defaults = {
        # full-size networks (ConvNet: depth by resolution), 1000 epochs with DSA, 5 repeats
        "paper": {
            "datasets": ["cifar10"], "strategies": ["speed"], "ipc": [10], "seeds": [0],
            "networks": ["ConvNet", "MLP", "ResNet18", "ViT"], "convnet_by_resolution": True, "repeats": 5,
            "recipes": {"default": {"epochs": 1000, "lr": 0.01, "dsa": "auto"}},
        },
        # IPC 1, 1 repeat (--repeats 2 for a std), 300 epochs with DSA, 100 test images per class;
        # ResNet18 and ViT narrowed to fit 2 CPU cores; per-network lr from a validation-split study
        "quick": {
            "datasets": ["fashion_mnist"], "strategies": ["random"], "ipc": [1], "seeds": [0],
            "networks": ["ConvNet", "MLP", "ResNet18", "ViT"], "repeats": 1,
            "recipes": {
                "default": {"epochs": 300, "lr": 0.01, "dsa": "auto", "test_subset": 100},
                "ResNet18": NARROW_RESNET,
                "ViT": {"lr": 0.03, "network_options": {"dim": 128, "depth": 4, "heads": 4, "dim_head": 32,
                                                        "mlp_dim": 256}},
            },
        },
    }  # fmt: skip


def learning_rate_study(
    suite: Suite, dataset: str, network: str, learning_rates: list[float], strategy: str, ipc: int = 1,
    seeds: tuple[int, ...] = (0,),
) -> list[dict[str, Any]]:  # fmt: skip
    """Validation accuracy of ``network`` trained on a ``strategy`` buffer (docs/suites.md: random
    selection) for each learning rate.

    Uses the suite's recipe for the network with only ``lr`` changed and the buffer's learned lr
    ignored, and measures on the **validation** split (never test; decision 4), subset as the
    recipe's ``test_subset`` says. Writes no records; returns one row per (lr, seed).
    """
    engine = suite.engine
    rows = []
    for seed in seeds:
        cell = Cell(dataset, strategy, ipc, seed)
        resolved = suite.resolve(cell)
        data = suite.data(dataset, resolved, ipc)
        base = suite.recipe(network, resolved, dataset, ipc)
        outcome = engine.buffers.obtain(engine.buffers.plan(data, resolved, ipc, seed))
        if outcome.status != "ok":
            raise RuntimeError(f"buffer {strategy} ipc={ipc} seed={seed}: {outcome.status} {outcome.error}")
        training = replace(outcome.training_set(engine.device), lr=None)
        for lr in learning_rates:
            recipe = replace(base, lr=lr, use_buffer_lr=False)
            job = EvaluationJob(
                network, data, training, recipe, derive_seed(stable_hash([outcome.key]), 0), data.val
            )
            accuracy = engine.evaluation.train(job).accuracy
            rows.append({"network": network, "lr": lr, "seed": seed, "val_accuracy": accuracy})
    return rows
