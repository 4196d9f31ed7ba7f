"""The cross-architecture suite: each buffer evaluated on several networks (SPEED paper Table 3).

Every (strategy, ipc, seed) buffer trains K fresh networks of each architecture (ConvNet, MLP,
ResNet18, ViT by default; AlexNet, VGG11, … with ``--networks``); the table has one column per
network. Each network has its own recipe (``[cross-arch.recipes.<network>]`` in the profile),
chosen on the validation split with :func:`learning_rate_study` and applied to every strategy
alike (decision 5). The study and its numbers are in ``docs/suites.md``.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from benchmark.registries import NETWORKS
from benchmark.suites.standard import BufferCell, StandardSuite


class CrossArchSuite(StandardSuite):
    """Accuracy of each (strategy, ipc) buffer on each evaluation network (one column per network)."""

    name = "cross-arch"
    table_rows = ["dataset", "strategy", "ipc"]
    table_columns = ["network"]

    def cells(self) -> list[BufferCell]:
        for network in self.settings["networks"]:  # unknown networks fail before any work starts
            NETWORKS.get(network)
        return super().cells()


def learning_rate_study(
    bench,
    dataset: str,
    network: str,
    learning_rates: list[float],
    strategy: str = "random",
    ipc: int = 1,
    seeds: tuple[int, ...] = (0,),
    suite: str = "cross-arch",
) -> list[dict[str, Any]]:
    """Validation accuracy of ``network`` trained on a ``strategy`` buffer for each learning rate.

    Uses the suite's recipe for the network with only ``lr`` changed and the buffer's learned lr
    ignored, and measures on the **validation** split (never test; decision 4), subset as the
    recipe's ``test_subset`` says. Writes no records; returns one row per (lr, seed).
    """
    from benchmark.training.evaluate import evaluate_images

    resolved = bench.resolve(strategy, dataset, ipc)
    data = bench.data(dataset, bench.preprocessing(suite, dataset, resolved, ipc))
    base = bench.recipe(suite, network, resolved, dataset, ipc)
    rows = []
    for seed in seeds:
        outcome = bench.obtain_buffer(data, resolved, ipc, seed)
        if outcome.status != "ok":
            raise RuntimeError(f"buffer {strategy} ipc={ipc} seed={seed}: {outcome.status} {outcome.error}")
        images, labels, _ = outcome.buffer.materialize(bench.device)
        for lr in learning_rates:
            recipe = replace(base, lr=lr, use_buffer_lr=False)
            _, accuracy = evaluate_images(
                network,
                data,
                images,
                labels,
                None,
                recipe,
                bench.eval_seed(outcome.key, 0),
                bench.device,
                data.val,
                bench.options.show_progress,
                compile_mode=bench.options.compile,
            )
            rows.append({"network": network, "lr": lr, "seed": seed, "val_accuracy": accuracy})
    return rows
