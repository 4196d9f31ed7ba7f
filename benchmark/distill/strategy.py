"""DistillationStrategy: a registered strategy composed of a parameterization and an objective.

The objective is fixed by the strategy (``dm`` = pixels × DM) or chosen with the spec key
``objective`` (``speed:objective=dm``), looked up by name in ``OBJECTIVES``. The accepted keys are
the union of the loop's, the parameterization's and the objective's (decision 1), and
``distill_precision`` where a spec gives it (benchmark/distill/precision.py: declared only then, so
fp32 specs resolve as before).
"""

from __future__ import annotations

from typing import Any, ClassVar

import torch

from benchmark.budget import Budget
from benchmark.buffer import LR_KEY, Buffer
from benchmark.data.classdata import ClassData
from benchmark.distill import precision
from benchmark.distill.loop import distill
from benchmark.registries import OBJECTIVES, PARAMETERIZATIONS
from benchmark.spec import Param
from benchmark.strategy import FitContext, Strategy

LOOP_PARAMS = {"iterations": Param(1000, "distillation iterations", minimum=0)}


class DistillationStrategy(Strategy):
    parameterization: ClassVar[str] = ""
    objective: ClassVar[str | None] = None  # None: chosen by the spec key ``objective``
    default_objective: ClassVar[str] = ""

    @classmethod
    def objective_name(cls, given: dict[str, Any]) -> str:
        return cls.objective or given.get("objective", cls.default_objective)

    @classmethod
    def declared_params(cls, given: dict[str, Any]) -> dict[str, Param]:
        synthetic = PARAMETERIZATIONS.get(cls.parameterization)
        objective = OBJECTIVES.get(cls.objective_name(given))
        clash = set(synthetic.params) & set(objective.params)
        if clash:
            raise TypeError(f"{cls.__name__}: keys {sorted(clash)} declared by both parts")
        declared = dict(LOOP_PARAMS) | synthetic.params | objective.params
        if precision.KEY in given:
            declared[precision.KEY] = precision.PARAM
        if cls.objective is None:
            declared["objective"] = Param(
                cls.default_objective, "matching objective", choices=tuple(OBJECTIVES.names())
            )
        return declared

    @classmethod
    def presets(
        cls, profile: str, dataset: str, ipc: int, given: dict[str, Any], classes: int | None = None
    ) -> dict[str, Any]:
        """The objective's presets; subclasses add their parameterization's on top (SPEED's depend on
        the classes of the fit)."""
        return OBJECTIVES.get(cls.objective_name(given)).presets(profile, dataset, ipc)

    def fit(self, data: ClassData, budget: Budget, seed: int, context: FitContext) -> Buffer:
        synthetic_cls = PARAMETERIZATIONS.get(self.parameterization)
        objective_cls = OBJECTIVES.get(self.objective_name(self.config))
        synthetic = synthetic_cls(data, budget, self.config, seed, context).to(context.device)
        objective = objective_cls(data, self.config, seed, context)

        def snapshot(iteration: int) -> None:
            buffer = export(synthetic, objective)  # its tensors may share storage with the parameters
            buffer.tensors = {name: t.clone() for name, t in buffer.tensors.items()}
            context.on_snapshot(iteration, buffer)

        hook = snapshot if context.on_snapshot is not None else None
        distill(
            synthetic, objective, self.config["iterations"], seed, context, self.name, hook,
            precision=precision.precision_of(self.config),
        )  # fmt: skip
        return export(synthetic, objective)


def export(synthetic, objective) -> Buffer:
    """The parameterization's buffer with the objective's learned lr (if any) beside it."""
    buffer = synthetic.export()
    lr = objective.learned_lr()
    if lr is not None:
        buffer.tensors[LR_KEY] = torch.tensor([lr], dtype=torch.float32)
    return buffer
