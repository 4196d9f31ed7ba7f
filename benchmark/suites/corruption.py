"""The corruption-robustness suite (SPEED paper Table 5 / Fig. 3; docs/protocol.md §9).

Each buffer trains K networks of each suite network (ConvNet and ResNet18 by default) once; every
trained network is tested on the clean test images and on each corruption × severity of the same
images (official CIFAR-10-C / CIFAR-100-C files when present, else generated with corrupt-tta).
One record per trained network: ``accuracy`` (clean), ``accuracy/<corruption>/<severity>``,
``accuracy/mean15`` (the 15 standard corruptions × the suite's severities) and
``accuracy/mean19`` (all 19).

Suite settings beyond the standard ones: ``corruptions`` (default: all 19), ``severities``
(default 1–5), ``corruption_seed`` (generation seed, default 0), ``workers`` (generation
processes, default: all cores). The test subset is the recipe's ``test_subset`` (images per class).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from benchmark.corruptions import ALL, SEVERITIES, STANDARD
from benchmark.corruptions.generate import check_names
from benchmark.errors import UserInputError
from benchmark.progress import progress
from benchmark.strategy import ResolvedSpec
from benchmark.suites.base import Cell, Suite, TableSpec, Unit
from benchmark.training.job import EvaluationJob

SUMMARIES = ("clean", "mean15", "mean19")


def corruption_observations(frame: pd.DataFrame) -> pd.DataFrame:
    """Per record: clean accuracy, the means over the 15 standard and all 19 corruptions, and each
    corruption's accuracy averaged over its severities."""
    rows = []
    for _, record in frame.groupby("key", sort=False):
        first = record.iloc[0]
        metrics = dict(zip(record["metric"], record["value"], strict=False))
        values: dict[str, list[float]] = {}
        for metric, value in metrics.items():
            parts = str(metric).split("/")
            if len(parts) == 3 and parts[0] == "accuracy":
                values.setdefault(parts[1], []).append(value)
        columns = {name: float(np.mean(v)) for name, v in values.items()}
        columns["clean"] = metrics.get("accuracy", np.nan)
        for summary in ("mean15", "mean19"):
            if f"accuracy/{summary}" in metrics:
                columns[summary] = metrics[f"accuracy/{summary}"]
        for column, value in columns.items():
            row = first.copy()
            row["column"], row["value"], row["order"] = column, value, _rank(column)
            rows.append(row)
    obs = pd.DataFrame(rows)
    return obs.assign(axis=np.nan) if not obs.empty else obs


def _rank(column: str) -> tuple:
    if column in SUMMARIES:
        return (0, SUMMARIES.index(column))
    return (1, ALL.index(column)) if column in ALL else (2, 0, column)


class CorruptionSuite(Suite):
    """Clean and corrupted accuracy of each (strategy, ipc) buffer's networks."""

    name = "corruption"
    table = TableSpec(observe=corruption_observations, rows=("label", "ipc", "network"), figure="bars")
    defaults = {
        # the official CIFAR-10-C files when present under --data-root, the whole test set
        "paper": {
            "datasets": ["cifar10"], "strategies": ["speed"], "ipc": [10], "seeds": [0],
            "networks": ["ConvNet", "ResNet18"], "convnet_by_resolution": True, "repeats": 5,
            "severities": [1, 2, 3, 4, 5], "corruption_seed": 0,
            "recipes": {"default": {"epochs": 1000, "lr": 0.01, "dsa": "auto"}},
        },
        # ConvNet and ResNet18 (narrowed as in cross-arch) trained once per buffer and repeat, tested
        # on a seeded subset of 20 test images per class, clean and under all 19 corruptions × 5
        # severities (generated with corrupt-tta, cached)
        "quick": {
            "datasets": ["fashion_mnist"], "strategies": ["random"], "ipc": [1], "seeds": [0],
            "networks": ["ConvNet", "ResNet18"], "repeats": 1, "severities": [1, 2, 3, 4, 5],
            "corruption_seed": 0,
            "recipes": {
                "default": {"epochs": 300, "lr": 0.01, "dsa": "auto", "test_subset": 20},
                "ResNet18": {"network_options": {"widths": [16, 32, 64, 128]}},
            },
        },
    }  # fmt: skip

    def __init__(self, options, profile, engine):
        super().__init__(options, profile, engine)
        self.corruptions = list(self.settings.get("corruptions", ALL))
        self.severities = [int(s) for s in self.settings.get("severities", SEVERITIES)]
        try:
            check_names(self.corruptions, self.severities)
        except ValueError as error:
            raise UserInputError(f"corruption suite settings: {error}") from error
        self._sources: dict[str, str] = {}
        self._sets: dict[tuple, object] = {}

    def source(self, dataset: str) -> str:
        """Where the corrupted images come from (official files or corrupt-tta's version)."""
        if dataset not in self._sources:
            from benchmark.corruptions.testsets import source_of

            self._sources[dataset] = source_of(dataset, self.options.engine.data_root)
        return self._sources[dataset]

    def cells(self) -> list[Cell]:
        cells = super().cells()
        for dataset in self.settings["datasets"]:  # a missing corrupt-tta fails before any work
            self.source(dataset)
        return cells

    def units(self, cell: Cell, resolved: ResolvedSpec) -> list[Unit]:
        (unit,) = super().units(cell, resolved)
        unit.fields["corruptions"] = {
            "source": self.source(cell.dataset),
            "corruptions": self.corruptions,
            "severities": self.severities,
            "seed": int(self.settings.get("corruption_seed", 0)),
        }
        return [unit]

    def test_sets(self, data, per_class: int):
        """The clean and corrupted test subsets of ``data`` (built or loaded once per run)."""
        from benchmark.corruptions.testsets import corrupted_test_sets

        key = (data.name, data.preprocessing, per_class)
        if key not in self._sets:
            self._sets[key] = corrupted_test_sets(
                data,
                self.corruptions,
                self.severities,
                per_class,
                cache_root=self.engine.store.cache_root,
                data_root=self.options.engine.data_root,
                split_seed=self.engine.buffers.dataset_options().split_seed,
                seed=int(self.settings.get("corruption_seed", 0)),
                workers=self.settings.get("workers") or None,
                show_progress=self.options.engine.show_progress,
            )
        return self._sets[key]

    def extra_metrics(self, net, job: EvaluationJob) -> dict[str, float]:
        """Accuracy of ``net`` on every corrupted set (the clean accuracy is measured on exactly the
        images that were corrupted: the same seeded subset), and the means over standard / all ones."""
        sets = self.test_sets(job.data, job.recipe.test_subset)
        metrics = {}
        for corruption, severity in progress(
            sets.pairs, desc="corrupted test sets", enabled=self.options.engine.show_progress
        ):
            metrics[f"accuracy/{corruption}/{severity}"] = sets.accuracy(
                net, (corruption, severity), self.engine.device
            )
        for label, names in (("mean15", STANDARD), ("mean19", ALL)):
            if set(names) <= set(self.corruptions):
                values = [metrics[f"accuracy/{c}/{s}"] for c in names for s in self.severities]
                metrics[f"accuracy/{label}"] = float(np.mean(values))
        return metrics
