"""The Suite contract: settings from the profile (overridden by flags), cells, and a table."""

from __future__ import annotations

from typing import Any, ClassVar

import pandas as pd

from benchmark.errors import UserInputError
from benchmark.profiles import Profile
from benchmark.results.tables import storage_column, summary_table
from benchmark.suites.options import RunOptions
from benchmark.suites.workbench import Workbench

# RunOptions attribute -> profile setting it overrides.
OVERRIDES = {
    "datasets": "datasets",
    "strategies": "strategies",
    "ipcs": "ipc",
    "seeds": "seeds",
    "networks": "networks",
    "repeats": "repeats",
    "class_orders": "class_orders",
    "steps": "steps",
}


class Suite:
    """Base class; a suite's ``cells()`` are independent units of work run by an executor."""

    name: ClassVar[str] = ""
    table_rows: ClassVar[list[str]] = ["dataset", "strategy", "ipc"]
    table_columns: ClassVar[list[str]] = ["network"]

    def __init__(self, options: RunOptions, profile: Profile, bench: Workbench):
        self.options = options
        self.profile = profile
        self.bench = bench
        self.settings = profile.suite(self.name)
        for attribute, setting in OVERRIDES.items():
            value = getattr(options, attribute)
            if value is not None:
                self.settings[setting] = value
        if any(ipc <= 0 for ipc in self.settings.get("ipc", [])):
            raise UserInputError(f"ipc must be positive, got {self.settings['ipc']}; use e.g. --ipc 1,10")

    def cells(self) -> list[Any]:
        raise NotImplementedError

    def run_cell(self, cell: Any) -> None:
        raise NotImplementedError

    def describe_cell(self, cell: Any) -> str:
        return str(cell)

    def cell_data(self, dataset: str, resolved, ipc: int):
        """The cell's data, preprocessed as the profile says for this suite (decision 5)."""
        return self.bench.data(dataset, self.bench.preprocessing(self.name, dataset, resolved, ipc))

    def base_config(self, dataset: str, resolved, ipc: int, network: str, recipe) -> dict[str, Any]:
        return {
            "dataset": dataset,
            "preprocessing": self.bench.preprocessing(self.name, dataset, resolved, ipc),
            "suite": self.name,
            "profile": self.profile.name,
            "strategy": resolved.canonical,
            "strategy_name": resolved.name,
            "ipc": ipc,
            "network": network,
            "eval_recipe": recipe.describe(),
            "step": None,
            "steps": None,
            "class_order": None,
        }

    def network_configs(
        self, dataset: str, resolved, ipc: int, distill_seed: int, seed_key: str, **fields: Any
    ) -> list[dict[str, Any]]:
        """One config per network × repeat; repeat r's evaluation seed derives from (seed_key, r)."""
        configs = []
        for network in self.settings["networks"]:
            recipe = self.bench.recipe(self.name, network, resolved, dataset, ipc)
            for repeat in range(self.settings["repeats"]):
                config = self.base_config(dataset, resolved, ipc, network, recipe) | fields
                config |= {
                    "distill_seed": distill_seed,
                    "repeat": repeat,
                    "eval_seed": self.bench.eval_seed(seed_key, repeat),
                }
                configs.append(config)
        return configs

    def table(self, frame: pd.DataFrame) -> pd.DataFrame:
        """Accuracy per row × column, and each row's storage against its budget."""
        table = summary_table(frame, self.table_rows, self.table_columns)
        if table.empty:
            return table
        table["storage / budget"] = storage_column(frame, self.table_rows)
        return table.fillna("")
