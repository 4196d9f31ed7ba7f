"""Plans: what a fit and a cell are, computed once and handed to the engine's services.

A :class:`FitPlan` is one buffer's fit: the data it is made from, the spec resolved for those classes
(with its strategy class, looked up once when the spec was resolved), IPC, seed, budget and (where a
store keeps it) its key. A :class:`CellPlan` is a suite's cell made concrete: the spec resolved for
the whole dataset and its class, the data, the recipe of each network, and its units, each with its
fits and record configs. Suites, ``distill``, the studies and the avalanche integration build plans;
the buffer and evaluation services take them, so nothing is looked up or recomputed along the way.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from benchmark.budget import Budget
from benchmark.data.classdata import ClassData, Split
from benchmark.results.config import RecordConfig
from benchmark.results.frame import COMPONENT_KEYS
from benchmark.spec import format_value
from benchmark.strategy import ResolvedSpec, Strategy
from benchmark.training.recipe import EvalRecipe


@dataclass(frozen=True)
class FitPlan:
    data: ClassData
    resolved: ResolvedSpec
    ipc: int
    seed: int
    budget: Budget | None  # None: an unbudgeted strategy (``whole``)
    key: str | None = None  # the buffer's key in the store (decision 8); None outside a store

    @property
    def strategy(self) -> type[Strategy]:
        return self.resolved.strategy

    def fit(self, context) -> Any:
        """The strategy's buffer for this plan (unstamped; :func:`benchmark.engine.buffers.fit_buffer`)."""
        return self.strategy(self.resolved.config).fit(self.data, self.budget, self.seed, context)


def fit_plan(
    data: ClassData, resolved: ResolvedSpec, ipc: int, seed: int, key: str | None = None
) -> FitPlan:
    """The plan of fitting ``resolved`` to ``data``: its budget (ipc × the data's classes × C·H·W), for
    a budgeted strategy (the class the spec was resolved with), computed here, once."""
    budgeted = resolved.strategy.budgeted
    budget = Budget(ipc, len(data.classes), data.image_shape) if budgeted else None
    return FitPlan(data, resolved, ipc, seed, budget, key)


@dataclass(frozen=True)
class Reading:
    """What a record needs to be read without the registry: its strategy's role and the component
    keys its label shows (those other than the strategy's default)."""

    role: str
    label_parts: list[str] = field(default_factory=list)

    @classmethod
    def of(cls, strategy: type[Strategy], resolved: ResolvedSpec) -> Reading:
        params = resolved.config
        declared = strategy.declared_params(params)
        parts = [
            k for k in COMPONENT_KEYS
            if k in params and k in declared and format_value(params[k]) != format_value(declared[k].default)
        ]  # fmt: skip
        return cls(strategy.role, parts)


@dataclass(frozen=True)
class UnitPlan:
    """One training set of a cell: the data its networks use, the fits of its buffers (in order), its
    test split, the record config of each network × repeat and each evaluated network's recipe."""

    data: ClassData
    fits: list[FitPlan]
    test: Split | None
    configs: list[RecordConfig]
    recipes: dict[str, EvalRecipe]  # evaluated network → its recipe


@dataclass(frozen=True)
class CellPlan:
    """A cell made concrete once: the spec resolved for every class of the dataset and its strategy
    class, the data, IPC and seed, the budget of a whole-dataset fit, how its records read, and its
    units (each with its fits, recipes and record configs)."""

    cell: Any
    resolved: ResolvedSpec
    data: ClassData
    budget: Budget | None
    reading: Reading
    units: list[UnitPlan]

    @property
    def strategy(self) -> type[Strategy]:
        return self.resolved.strategy

    @property
    def ipc(self) -> int:
        return self.cell.ipc

    @property
    def seed(self) -> int:
        return self.cell.seed

    def buffer_keys(self) -> set[str]:
        return {fit.key for unit in self.units for fit in unit.fits}
