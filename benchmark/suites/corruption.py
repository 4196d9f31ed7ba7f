"""The corruption-robustness suite (SPEED paper Table 5 / Fig. 3; PROTOCOL.md §9).

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
from benchmark.results.tables import cell_status, with_strategy_labels
from benchmark.suites.standard import BufferCell, StandardSuite


class CorruptionSuite(StandardSuite):
    """Clean and corrupted accuracy of each (strategy, ipc) buffer's networks."""

    name = "corruption"
    table_rows = ["dataset", "strategy", "ipc", "network"]
    # no column split in the generic summary table (`show`: clean accuracy per row); ``table()``
    # spreads the corruptions over the columns
    table_columns: list[str] = []

    def __init__(self, options, profile, bench):
        super().__init__(options, profile, bench)
        self.corruptions = list(self.settings.get("corruptions", ALL))
        self.severities = [int(s) for s in self.settings.get("severities", SEVERITIES)]
        try:
            check_names(self.corruptions, self.severities)
        except ValueError as error:
            raise UserInputError(f"corruption suite settings: {error}") from error
        self._sources: dict[str, str] = {}
        self._sets: dict[tuple[str, int], object] = {}

    # ---- what the records are keyed by ---------------------------------------------------
    def source(self, dataset: str) -> str:
        """Where the corrupted images come from (official files or corrupt-tta's version)."""
        if dataset not in self._sources:
            from benchmark.corruptions.testsets import source_of

            self._sources[dataset] = source_of(dataset, self.options.data_root)
        return self._sources[dataset]

    def cells(self) -> list[BufferCell]:
        cells = super().cells()
        for dataset in self.settings["datasets"]:  # a missing corrupt-tta fails before any work
            self.source(dataset)
        return cells

    def evaluation_configs(self, cell: BufferCell, resolved, buffer_key: str) -> list[dict]:
        configs = super().evaluation_configs(cell, resolved, buffer_key)
        for config in configs:
            config["corruptions"] = {
                "source": self.source(cell.dataset),
                "corruptions": self.corruptions,
                "severities": self.severities,
                "seed": int(self.settings.get("corruption_seed", 0)),
            }
        return configs

    # ---- test sets and metrics -----------------------------------------------------------
    def test_sets(self, data, per_class: int):
        """The clean and corrupted test subsets of ``data`` (built or loaded once per run)."""
        from benchmark.corruptions.testsets import corrupted_test_sets

        key = (data.name, per_class)
        if key not in self._sets:
            options = self.bench.dataset_options(data.preprocessing)
            self._sets[key] = corrupted_test_sets(
                data,
                self.corruptions,
                self.severities,
                per_class,
                cache_root=self.bench.store.root,
                data_root=self.options.data_root,
                split_seed=options.split_seed,
                seed=int(self.settings.get("corruption_seed", 0)),
                workers=self.settings.get("workers") or None,
                show_progress=self.options.show_progress,
            )
        return self._sets[key]

    def corruption_metrics(self, sets, net) -> dict[str, float]:
        """Accuracy of ``net`` on every corrupted set, and the means over standard / all ones."""
        metrics = {}
        for corruption, severity in progress(
            sets.pairs, desc="corrupted test sets", enabled=self.options.show_progress
        ):
            metrics[f"accuracy/{corruption}/{severity}"] = sets.accuracy(
                net, (corruption, severity), self.bench.device
            )
        for label, names in (("mean15", STANDARD), ("mean19", ALL)):
            if set(names) <= set(self.corruptions):
                values = [metrics[f"accuracy/{c}/{s}"] for c in names for s in self.severities]
                metrics[f"accuracy/{label}"] = float(np.mean(values))
        return metrics

    def evaluate(self, config, outcome, images, labels, lr, data, recipe) -> None:
        sets = self.test_sets(data, recipe.test_subset)
        # clean accuracy on exactly the images that were corrupted (same seeded subset)
        self.bench.evaluate(
            config,
            outcome,
            images,
            labels,
            lr,
            data,
            recipe,
            extra_metrics=lambda net, sets=sets: self.corruption_metrics(sets, net),
        )

    # ---- table -----------------------------------------------------------------------------
    def table(self, frame: pd.DataFrame) -> pd.DataFrame:
        """Rows (dataset, strategy, ipc, network); columns clean, mean15, mean19 and each corruption
        averaged over its severities (mean ± std over repeats, percent)."""
        return corruption_table(frame, self.table_rows)


def metric_column(metric: str) -> str | None:
    """The table column of a metric: clean, mean15, mean19 or the corruption's name."""
    if metric == "accuracy":
        return "clean"
    parts = metric.split("/")
    if len(parts) == 2 and parts[0] == "accuracy" and parts[1] in ("mean15", "mean19"):
        return parts[1]
    if len(parts) == 3 and parts[0] == "accuracy":
        return parts[1]
    return None


def corruption_table(frame: pd.DataFrame, rows: list[str]) -> pd.DataFrame:
    if frame.empty:
        return pd.DataFrame()
    frame = frame.assign(corruption=frame["metric"].map(metric_column))
    frame = frame[frame["corruption"].notna()]
    if "strategy" in rows:
        frame = with_strategy_labels(frame)
    # one value per record and column: a corruption's accuracy averaged over its severities
    per_record = (
        frame.groupby(["key", *rows, "status", "corruption"], dropna=False)["value"].mean().reset_index()
    )
    cells = per_record.groupby([*rows, "corruption"], dropna=False).apply(cell_status, include_groups=False)
    table = cells.unstack("corruption")
    ordered = [c for c in ("clean", "mean15", "mean19", *ALL) if c in table.columns]
    return table[ordered].fillna("")
