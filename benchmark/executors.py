"""Executors run a suite's cells: ``local`` (in this process, one after another)."""

from __future__ import annotations

from benchmark.progress import progress
from benchmark.suites.base import Suite


class LocalExecutor:
    """Run cells here, in order; each cell writes its records as they finish."""

    def run(self, suite: Suite, cells: list) -> None:
        for cell in progress(
            cells, desc=f"{suite.name} cells", enabled=suite.options.show_progress, leave=True
        ):
            suite.run_cell(cell)
