"""The standard suite: accuracy of each (strategy, ipc) buffer on the suite's networks, K repeats
(the shape of the SPEED paper's Table 1)."""

from __future__ import annotations

from dataclasses import dataclass

from benchmark.suites.base import Suite


@dataclass(frozen=True)
class BufferCell:
    dataset: str
    strategy: str  # the spec as given
    ipc: int
    seed: int


class StandardSuite(Suite):
    """ConvNet accuracy of each (strategy, ipc) buffer (SPEED paper Table 1)."""

    name = "standard"

    def cells(self) -> list[BufferCell]:
        cells = [
            BufferCell(dataset, spec, ipc, seed)
            for dataset in self.settings["datasets"]
            for spec in self.settings["strategies"]
            for ipc in self.settings["ipc"]
            for seed in self.settings["seeds"]
        ]
        for cell in cells:  # bad specs fail before any work starts
            self.bench.resolve(cell.strategy, cell.dataset, cell.ipc)
        return cells

    def describe_cell(self, cell: BufferCell) -> str:
        return f"{cell.strategy} ipc={cell.ipc} seed={cell.seed}"

    def evaluation_configs(self, cell: BufferCell, resolved, buffer_key: str) -> list[dict]:
        return self.network_configs(cell.dataset, resolved, cell.ipc, cell.seed, buffer_key)

    def run_cell(self, cell: BufferCell) -> None:
        resolved = self.bench.resolve(cell.strategy, cell.dataset, cell.ipc)
        data = self.cell_data(cell.dataset, resolved, cell.ipc)
        key = self.bench.buffer_key(data, resolved, cell.ipc, cell.seed)
        pending = self.bench.pending(self.evaluation_configs(cell, resolved, key))
        if not pending:
            return
        outcome = self.bench.obtain_buffer(data, resolved, cell.ipc, cell.seed)
        if outcome.status != "ok":
            for config in pending:
                if config["repeat"] == 0:
                    self.bench.record_outcome_failure(config, outcome)
            return
        images, labels, lr = outcome.buffer.materialize(self.bench.device)
        for config in pending:
            recipe = self.bench.recipe(self.name, config["network"], resolved, cell.dataset, cell.ipc)
            self.evaluate(config, outcome, images, labels, lr, data, recipe)

    def evaluate(self, config, outcome, images, labels, lr, data, recipe) -> None:
        """Train and test one evaluation network (suites add metrics by overriding this)."""
        self.bench.evaluate(config, outcome, images, labels, lr, data, recipe)
