"""The continual suite: GDumb-style class-incremental learning (PROTOCOL.md §7, decision 6).

At step t the strategy receives only step t's classes (real training images) and a budget of
(new classes × ipc); the memory is the union of the buffers of steps 0..t. A fresh network is
trained from scratch on the memory with lr 0.01 (no learned lr), keeps an output for every class,
and is tested on the test images of every class seen so far.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd
import torch

from benchmark.cache import stable_hash
from benchmark.continual.stream import Step, class_incremental_steps, class_order
from benchmark.data.classdata import ClassData, Split
from benchmark.results.tables import format_mean_std, summary_table, with_strategy_labels
from benchmark.suites.base import Suite
from benchmark.suites.workbench import BufferOutcome


@dataclass(frozen=True)
class StreamCell:
    dataset: str
    strategy: str
    ipc: int
    seed: int
    class_order: int


class ContinualSuite(Suite):
    """GDumb-style class-incremental learning on memories made by any strategy (SPEED Fig. 2)."""

    name = "continual"
    table_columns = ["step"]

    def cells(self) -> list[StreamCell]:
        cells = [
            StreamCell(dataset, spec, ipc, seed, order)
            for dataset in self.settings["datasets"]
            for spec in self.settings["strategies"]
            for ipc in self.settings["ipc"]
            for seed in self.settings["seeds"]
            for order in self.settings["class_orders"]
        ]
        for cell in cells:
            self.bench.resolve(cell.strategy, cell.dataset, cell.ipc)
        return cells

    def describe_cell(self, cell: StreamCell) -> str:
        return f"{cell.strategy} ipc={cell.ipc} order={cell.class_order}"

    def steps(self, data: ClassData, order_seed: int) -> list[Step]:
        order = class_order(order_seed, data.num_classes)
        return class_incremental_steps(data.train.labels, data.test.labels, order, self.settings["steps"])

    @staticmethod
    def step_data(data: ClassData, step: Step) -> ClassData:
        """Only this step's classes: the train images the stream assigned to it, val and test likewise."""
        restricted = data.restricted_to(list(step.classes))
        indices = torch.sort(step.train_indices).values
        train = Split(data.train.images[indices], data.train.labels[indices])
        restricted.train = train
        return restricted

    def run_cell(self, cell: StreamCell) -> None:
        resolved = self.bench.resolve(cell.strategy, cell.dataset, cell.ipc)
        data = self.cell_data(cell.dataset, resolved, cell.ipc)
        steps = self.steps(data, cell.class_order)
        step_data = [self.step_data(data, step) for step in steps]
        keys = [self.bench.buffer_key(d, resolved, cell.ipc, cell.seed) for d in step_data]
        pending = [self.bench.pending(self.step_configs(cell, resolved, s, len(steps), keys)) for s in steps]
        if not any(pending):
            return
        memory: list[BufferOutcome] = []
        for step in steps:
            memory.append(self.bench.obtain_buffer(step_data[step.index], resolved, cell.ipc, cell.seed))
            if not pending[step.index]:
                continue
            failed = next((m for m in memory if m.status != "ok"), None)
            if failed is not None:  # a step without its buffer has no memory to train on
                for config in pending[step.index]:
                    if config["repeat"] == 0:
                        self.bench.record_outcome_failure(config, failed)
                continue
            images, labels = self.memory_tensors(memory)
            seen = [c for s in steps[: step.index + 1] for c in s.classes]
            test = data.test.restricted_to(seen)
            for config in pending[step.index]:
                recipe = self.bench.recipe(self.name, config["network"], resolved, cell.dataset, cell.ipc)
                self.bench.evaluate(
                    config, self.memory_outcome(memory), images, labels, None, data, recipe, test
                )

    def step_configs(self, cell, resolved, step: Step, total: int, keys: list[str]) -> list[dict[str, Any]]:
        """One config per network × repeat; the evaluation seed follows the memory's buffers."""
        memory_key = stable_hash(keys[: step.index + 1])
        return self.network_configs(
            cell.dataset, resolved, cell.ipc, cell.seed, memory_key,
            step=step.index, steps=total, class_order=cell.class_order,
        )  # fmt: skip

    def memory_tensors(self, memory: list[BufferOutcome]) -> tuple[torch.Tensor, torch.Tensor]:
        parts = [m.buffer.materialize(self.bench.device)[:2] for m in memory]
        return torch.cat([p[0] for p in parts]), torch.cat([p[1] for p in parts])

    @staticmethod
    def memory_outcome(memory: list[BufferOutcome]) -> BufferOutcome:
        """The memory as one outcome: storage and budget summed over the steps' buffers."""
        last = memory[-1]
        total = type(last.budget)(
            last.budget.ipc, sum(m.budget.num_classes for m in memory), last.budget.image_shape
        )
        return BufferOutcome(
            key=last.key,  # records name the step's own buffer (a real file); the memory is steps 0..t
            resolved=last.resolved,
            budget=total,
            status="ok",
            buffer=None,
            numbers={"storage": sum(m.storage for m in memory)},
            distill_wall_s=sum(m.distill_wall_s for m in memory),
        )

    def table(self, frame: pd.DataFrame) -> pd.DataFrame:
        """Accuracy per step (mean ± std over class orders × repeats), average incremental and final."""
        table = summary_table(frame, ["dataset", "strategy", "ipc", "network"], ["step"])
        if table.empty:
            return table
        # the same readable labels as the per-step columns, so the rows line up
        ok = with_strategy_labels(frame[(frame["metric"] == "accuracy") & (frame["status"] == "ok")])
        group = ["dataset", "strategy", "ipc", "network"]
        per_run = ok.groupby(group + ["class_order", "repeat", "distill_seed"])["value"].mean()
        table["avg incremental"] = per_run.groupby(group).apply(format_mean_std)
        final = ok[ok["step"] == ok["step"].max()]
        table["final"] = final.groupby(group)["value"].apply(format_mean_std)
        return table.fillna("")
