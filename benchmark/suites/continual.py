"""The continual suite: GDumb-style class-incremental learning (PROTOCOL.md §7, decision 6).

At step t the strategy receives only step t's classes (real training images) and a budget of
(new classes × ipc); the memory is the union of the buffers of steps 0..t. A fresh network is
trained from scratch on the memory with lr 0.01 (no learned lr), keeps an output for every class,
and is tested on the test images of every class seen so far. Records number steps from 0; tables
and figures show them from 1.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch

from benchmark.continual.stream import Step, class_incremental_steps, class_order
from benchmark.data.classdata import ClassData, Split
from benchmark.engine.buffers import BufferOutcome
from benchmark.errors import UserInputError
from benchmark.results.frame import worst_status
from benchmark.strategy import ResolvedSpec, strategy_class
from benchmark.suites.base import Cell, Suite, TableSpec, Unit
from benchmark.training.job import TrainingSet

AVERAGE_INCREMENTAL = "average incremental"
FINAL = "final"


def continual_observations(frame: pd.DataFrame) -> pd.DataFrame:
    """A column per step (1…T), the average incremental accuracy of each run (class order × seed ×
    repeat) whose steps all succeeded, and the final step's accuracy."""
    acc = frame[frame["metric"] == "accuracy"]
    steps = acc.copy()
    steps["column"] = steps["step"].map(lambda s: f"step {int(s) + 1}")
    steps["order"] = steps["step"].map(lambda s: (0, float(s)))
    steps["axis"] = steps["step"].astype(float) + 1
    runs = ["label", "spec", "recipe", "ipc", "network", "class_order", "distill_seed", "repeat"]
    averages = []
    for _, run in acc.groupby(runs, dropna=False, sort=False):
        average = run.iloc[0].copy()
        status = worst_status(run["status"])
        average["value"] = run["value"].mean() if status == "ok" else np.nan
        average["status"], average["column"], average["order"] = status, AVERAGE_INCREMENTAL, (1, 0)
        averages.append(average)
    finals = acc[
        acc["step"] == acc.groupby(["label", "ipc", "network"], dropna=False)["step"].transform("max")
    ]
    finals = finals.assign(column=FINAL, order=[(1, 1)] * len(finals))
    summary = pd.concat([pd.DataFrame(averages), finals], ignore_index=True).assign(axis=np.nan)
    return pd.concat([steps, summary], ignore_index=True)


CONTINUAL_RECIPE = {"lr": 0.01, "use_buffer_lr": False, "dsa": "auto"}


@dataclass(frozen=True)
class StreamCell(Cell):
    class_order: int = 0


class ContinualSuite(Suite):
    """GDumb-style class-incremental learning on memories made by any strategy (SPEED Fig. 2)."""

    name = "continual"
    table = TableSpec(
        observe=continual_observations, rows=("label", "ipc", "network"), figure="lines", axis_label="step"
    )
    defaults = {
        # PROTOCOL.md §7: CIFAR100, 5 steps of 20 classes, IPC 20, 5 class orders × 3 networks, 1000 epochs
        "paper": {
            "datasets": ["cifar100"], "strategies": ["random", "herding", "dm", "speed:objective=dm"],
            "ipc": [20], "steps": 5, "class_orders": [0, 1, 2, 3, 4], "seeds": [0],
            "networks": ["ConvNet", "ResNet18"], "repeats": 3, "preprocessing": {},
            "recipes": {"default": CONTINUAL_RECIPE | {"epochs": 1000}},
        },
        # The main job (`python -m benchmark run --suite continual`): Fashion-MNIST, 5 steps of 2
        # classes; its reductions against the paper profile are listed in the README and docs/continual.md.
        "quick": {
            "datasets": ["fashion_mnist"], "strategies": ["random", "herding", "dm", "speed:objective=dm"],
            "ipc": [3], "steps": 5, "class_orders": [0], "seeds": [0], "networks": ["ConvNet"],
            "repeats": 1, "preprocessing": {},
            "recipes": {
                "default": CONTINUAL_RECIPE | {"epochs": 150, "test_subset": 300},
                "ConvNet": {"network_options": {"width": 32}},
            },
        },
        "smoke": {
            "datasets": ["digits"], "strategies": ["random"], "ipc": [2], "steps": 5, "class_orders": [0],
            "seeds": [0], "networks": ["ConvNet"], "repeats": 1, "preprocessing": {},
            "recipes": {
                "default": CONTINUAL_RECIPE | {"epochs": 100}, "ConvNet": {"network_options": {"width": 16}},
            },
        },
    }  # fmt: skip

    def cells(self) -> list[StreamCell]:
        cells = super().cells()
        for cell in cells:  # a memory is built from budgets: an unbudgeted strategy has none
            resolved = self.resolve(cell)
            if not strategy_class(resolved.name).budgeted:
                raise UserInputError(
                    f"the continual suite builds memories from per-step budgets; {cell.spec!r} is "
                    "unbudgeted (it stores the whole training set); choose budgeted strategies"
                )
        return [
            StreamCell(cell.dataset, cell.spec, cell.ipc, cell.seed, order)
            for cell in cells
            for order in self.settings["class_orders"]
        ]

    def describe_cell(self, cell: StreamCell) -> str:
        return f"{cell.spec} ipc={cell.ipc} order={cell.class_order}"

    def steps(self, data: ClassData, order_seed: int) -> list[Step]:
        order = class_order(order_seed, data.num_classes)
        return class_incremental_steps(data.train.labels, data.test.labels, order, self.settings["steps"])

    @staticmethod
    def step_data(data: ClassData, step: Step) -> ClassData:
        """Only this step's classes: the train images the stream assigned to it, val and test likewise."""
        restricted = data.restricted_to(list(step.classes))
        indices = torch.sort(step.train_indices).values
        restricted.train = Split(data.train.images[indices], data.train.labels[indices])
        return restricted

    def units(self, cell: StreamCell, resolved: ResolvedSpec) -> list[Unit]:
        """Step t: the memory of the buffers of steps 0..t, tested on every class seen so far."""
        data = self.data(cell.dataset, resolved, cell.ipc)
        steps = self.steps(data, cell.class_order)
        parts = [self.step_data(data, step) for step in steps]
        units = []
        for step in steps:
            seen = [c for s in steps[: step.index + 1] for c in s.classes]
            fields = {"step": step.index, "steps": len(steps), "class_order": cell.class_order}
            units.append(Unit(data, parts[: step.index + 1], fields, data.test.restricted_to(seen)))
        return units

    def training_set(self, unit: Unit, outcomes: list[BufferOutcome]) -> TrainingSet:
        """The union of the steps' buffers; storage and budget summed; no learned lr (decision 6)."""
        sets = [outcome.training_set(self.engine.device) for outcome in outcomes]
        return TrainingSet(
            images=torch.cat([s.images for s in sets]),
            labels=torch.cat([s.labels for s in sets]),
            lr=None,
            storage=sum(s.storage for s in sets),
            budget=sum(s.budget for s in sets) if all(s.budget is not None for s in sets) else None,
            buffer_key=sets[-1].buffer_key,  # records name the step's own buffer (a real file)
            distill_wall_s=sum(s.distill_wall_s for s in sets),
        )
