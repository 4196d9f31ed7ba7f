"""The continual suite: GDumb-style class-incremental learning (docs/protocol.md §7, decision 6).

At step t the strategy receives only step t's classes (real training images) and a budget of
(new classes × ipc), its spec resolved for those classes (SPEED plans for the step, not the
dataset), and records name that spec; the memory is the union of the buffers of steps 0..t. A fresh network is
trained from scratch on the memory with lr 0.01 (no learned lr), keeps an output for every class,
and is tested on the test images of every class seen so far; each record holds its accuracy on each
of those classes too (``accuracy/class/<c>``), from which the table's average forgetting comes.
Records number steps from 0; tables and figures show them from 1.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch

from benchmark.continual.stream import Step, class_incremental_steps, class_order
from benchmark.data.classdata import ClassData, Split
from benchmark.engine.buffers import BufferOutcome
from benchmark.engine.plan import UnitPlan
from benchmark.errors import UserInputError
from benchmark.results.config import fields_at
from benchmark.results.frame import missing, worst_status
from benchmark.strategy import ResolvedSpec
from benchmark.suites.base import Cell, Suite, TableSpec, Unit
from benchmark.training.evaluate import per_class_subset, test_accuracy
from benchmark.training.job import EvaluationJob, TrainingSet, joined_soft_labels

AVERAGE_INCREMENTAL = "average incremental"
FINAL = "final"
FORGETTING = "average forgetting"
CLASS_METRIC = "accuracy/class/"  # + the class id: a network's accuracy on that class's test images
# one run of the stream: its row (label, recipe kind, the config's cell fields) and replicate
RUNS = ["label", "recipe", *fields_at("cell"), *fields_at("replicate")]


def continual_observations(frame: pd.DataFrame) -> pd.DataFrame:
    """A column per step (1…T), the average incremental accuracy of each run (class order × seed ×
    repeat) whose steps all succeeded, the final step's accuracy, and the run's average forgetting
    (:func:`average_forgetting`; runs recorded without per-class accuracies have none)."""
    acc = frame[frame["metric"] == "accuracy"]
    steps = acc.copy()
    steps["column"] = steps["step"].map(lambda s: f"step {int(s) + 1}")
    steps["order"] = steps["step"].map(lambda s: (0, float(s)))
    steps["axis"] = steps["step"].astype(float) + 1
    per_class = frame[frame["metric"].astype(str).str.startswith(CLASS_METRIC)]
    class_runs = {_run(values): run for values, run in per_class.groupby(RUNS, dropna=False, sort=False)}
    summaries = []
    for values, run in acc.groupby(RUNS, dropna=False, sort=False):
        status = worst_status(run["status"])
        average = run.iloc[0].copy()
        average["value"] = run["value"].mean() if status == "ok" else np.nan
        average["status"], average["column"], average["order"] = status, AVERAGE_INCREMENTAL, (1, 0)
        summaries.append(average)
        classes = class_runs.get(_run(values), per_class.iloc[:0])
        if status != "ok" or not classes.empty:
            forgetting = run.iloc[0].copy()
            forgetting["value"] = average_forgetting(classes) if status == "ok" else np.nan
            forgetting["metric"] = "accuracy/forgetting"  # points, as accuracies are
            forgetting["status"], forgetting["column"], forgetting["order"] = status, FORGETTING, (1, 2)
            summaries.append(forgetting)
    finals = acc[
        acc["step"] == acc.groupby(["label", "ipc", "network"], dropna=False)["step"].transform("max")
    ]
    finals = finals.assign(column=FINAL, order=[(1, 1)] * len(finals))
    summary = pd.concat([pd.DataFrame(summaries), finals], ignore_index=True).assign(axis=np.nan)
    return pd.concat([steps, summary], ignore_index=True)


def _run(values: tuple) -> tuple:
    return tuple(None if missing(value) else value for value in values)


def average_forgetting(per_class: pd.DataFrame) -> float:
    """One run's average forgetting from its per-class accuracy rows (one per step and class seen):
    for the classes of each step before the last (those first seen at that step), their best mean
    accuracy at any step before the last minus their mean accuracy at the last, averaged over those
    steps; NaN with fewer than two steps."""
    accuracy: dict[int, dict[int, float]] = {}
    for _, row in per_class.iterrows():
        accuracy.setdefault(int(row["step"]), {})[int(row["metric"][len(CLASS_METRIC) :])] = float(
            row["value"]
        )
    steps = sorted(accuracy)
    if len(steps) < 2:
        return np.nan
    last, seen, drops = steps[-1], set(), []
    for step in steps[:-1]:
        new = sorted(set(accuracy[step]) - seen)
        seen |= set(accuracy[step])
        if not new:
            continue
        best = max(np.mean([accuracy[t][c] for c in new]) for t in steps[:-1] if t >= step)
        drops.append(best - np.mean([accuracy[last][c] for c in new]))
    return float(np.mean(drops)) if drops else np.nan


CONTINUAL_RECIPE = {"lr": 0.01, "use_buffer_lr": False, "dsa": "auto"}
# SPEED as published (SPEED × TM, `speed`) and as SPEED × DM, beside pixel TM and DM and the coresets.
STRATEGIES = ["random", "herding", "dm", "tm", "speed:objective=dm", "speed"]
# The quick profile's schedules for a step's fit (2 classes, IPC 3), chosen on validation curves
# (docs/studies/continual-schedules.md): spec values beneath the cell's own, above the presets.
# SPEED × TM's is its real-image fit alone: no TM iteration came within 1 point of it.
QUICK_SCHEDULES = {
    # The rule alone chose the fit with no TM iteration; the main job must run the method, so the
    # cheapest schedule with TM iterations within 1 point (docs/studies/continual-schedules.md).
    "speed:objective=tm": {"init_steps": 300, "iterations": 25},
    "speed:objective=dm": {"init_steps": 100, "iterations": 100},
    "tm": {"iterations": 25},
    "dm": {"iterations": 50},
}


@dataclass(frozen=True)
class StreamCell(Cell):
    class_order: int = 0


class ContinualSuite(Suite):
    """GDumb-style class-incremental learning on memories made by any strategy (SPEED Fig. 2)."""

    name = "continual"
    table = TableSpec(
        observe=continual_observations, rows=("label", "ipc", "network"), figure="lines", axis_label="step",
        unranked=(FORGETTING,),  # lower is better: shown, never ranked
    )  # fmt: skip
    defaults = {
        # docs/protocol.md §7: CIFAR100, 5 steps of 20 classes, IPC 20, 5 orders × 3 networks, 1000 epochs
        "paper": {
            "datasets": ["cifar100"], "strategies": STRATEGIES,
            "ipc": [20], "steps": 5, "class_orders": [0, 1, 2, 3, 4], "seeds": [0],
            "networks": ["ConvNet", "ResNet18"], "repeats": 3, "preprocessing": {},
            "recipes": {"default": CONTINUAL_RECIPE | {"epochs": 1000}},
        },
        # The main job (`python -m benchmark run --suite continual`): Fashion-MNIST, 5 steps of 2
        # classes; its reductions against the paper profile are listed in the README and docs/continual.md.
        "quick": {
            "datasets": ["fashion_mnist"], "strategies": STRATEGIES,
            "ipc": [3], "steps": 5, "class_orders": [0], "seeds": [0], "networks": ["ConvNet"],
            "repeats": 1, "preprocessing": {}, "strategy_settings": QUICK_SCHEDULES,
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

    def check_cell(self, cell: Cell, resolved: ResolvedSpec) -> None:
        """A memory is built from budgets: an unbudgeted strategy has none."""
        if not resolved.strategy.budgeted:
            raise UserInputError(
                f"the continual suite builds memories from per-step budgets; {cell.spec!r} is "
                "unbudgeted (it stores the whole training set); choose budgeted strategies"
            )

    def cells(self) -> list[StreamCell]:
        cells = super().cells()
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

    def extra_metrics(self, net, job: EvaluationJob) -> dict[str, float]:
        """The network's accuracy on each class it is tested on (the same test images as ``accuracy``)."""
        split = per_class_subset(job.test if job.test is not None else job.data.test, job.recipe.test_subset)
        metrics = {}
        for c in torch.unique(split.labels).tolist():
            mask = split.labels == c
            own = Split(split.images[mask], split.labels[mask])
            metrics[f"{CLASS_METRIC}{c}"] = test_accuracy(
                net, own, self.engine.device, job.recipe.test_batch_size
            )
        return metrics

    def training_set(self, unit: UnitPlan, outcomes: list[BufferOutcome]) -> TrainingSet:
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
            soft_labels=joined_soft_labels(sets),  # other steps' classes: probability 0
        )
