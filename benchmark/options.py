"""What a user asks of a run, in three parts: the cells (:class:`Selection`; unset values come from the
suite's settings), the engine (:class:`EngineOptions`) and the executor (:class:`ExecutionOptions`)."""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from pathlib import Path

SEED_MAX = 2**32 - 1


def check_range(flag: str, value, low: float | None = None, high: float | None = None) -> None:
    """One line naming the flag when ``value`` is not a finite number within [low, high]."""
    from benchmark.errors import UserInputError

    inside = isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
    inside = inside and (low is None or value >= low) and (high is None or value <= high)
    if not inside:
        parts = [f">= {low:g}" if low is not None else "", f"<= {high:g}" if high is not None else ""]
        bounds = " and ".join(part for part in parts if part)
        raise UserInputError(
            f"{flag} {value!r} is out of range; it must be a finite number {bounds}".rstrip()
        )


def check_eval_lr(value) -> None:
    """``--eval-lr``: a finite number above 0 (an lr of 0 would train nothing)."""
    from benchmark.errors import UserInputError

    number = isinstance(value, int | float) and not isinstance(value, bool)
    if not (number and math.isfinite(value) and value > 0):
        raise UserInputError(f"--eval-lr {value!r} is out of range; it must be a finite number > 0")


WORKERS_DEFAULT = "1"


def parse_workers(value: str) -> int:
    """``--workers``: ``auto`` (or 0) → 0, one worker per core; else the count, within bounds."""
    if value == "auto":
        return 0
    try:
        count = int(value)
    except ValueError:
        from benchmark.errors import UserInputError

        raise UserInputError(
            f"--workers {value!r} is not a count; give auto or a number, e.g. --workers 2"
        ) from None
    check_range("--workers", count, 0, 1024)
    return count


@dataclass(frozen=True)
class Selection:
    """Which cells a run holds: the suite and profile, and the settings that override the suite's (None:
    the suite's own for the profile)."""

    suite: str = "standard"
    profile: str = "quick"
    datasets: list[str] | None = None
    strategies: list[str] | None = None  # spec strings (decision 1)
    ipcs: list[int] | None = None
    seeds: list[int] | None = None  # distillation seeds (decision 12)
    networks: list[str] | None = None
    repeats: int | None = None
    class_orders: list[int] | None = None
    steps: int | None = None
    eval_recipe: str = "suite"  # or "original": each method's published recipe (decision 5)


@dataclass(frozen=True)
class EngineOptions:
    """How the engine works: where results go, the device, where data comes from, how buffers are fitted
    and networks trained (``precision`` and ``eval_lr`` are recorded in each recipe), what is redone.
    ``run``, ``distill`` and ``evaluate`` build it alike (``benchmark.commands.engine_options``)."""

    output_dir: Path = Path("results")
    device: str = "auto"
    compile: str = "auto"  # torch.compile for evaluation training: auto | on | off
    precision: str = "fp32"  # evaluation training: fp32, or bf16 autocast (recorded in each recipe)
    distill_precision: str = "fp32"  # distillation: fp32, or bf16 autocast (benchmark/distill/precision.py)
    eval_lr: float | None = None  # every buffer trains at this lr, its learned lr ignored (recorded)
    data_root: Path | None = None
    download: bool = False
    force: bool = False
    retry_failed: bool = False
    show_progress: bool = True
    command: str | None = None  # the command line, recorded in every record it writes

    def __post_init__(self) -> None:
        if self.eval_lr is not None:  # before any work
            check_eval_lr(self.eval_lr)


@dataclass(frozen=True)
class ExecutionOptions:
    """Where a run's cells run: the executor and what it is given (local worker processes, Ray)."""

    executor: str = "local"
    workers: int = 1  # local executor: cell processes (0: one per core; 1: in this process, in order)
    ray_address: str | None = None  # --address: a Ray cluster; None starts a local one
    cpus_per_cell: int = 1  # Ray resource request per cell, also its torch thread count
    gpus_per_cell: float = 0.0
    plugins: list[str] | None = None  # --plugin files; the ray executor ships their source to workers


PARTS = {"selection": Selection, "engine": EngineOptions, "execution": ExecutionOptions}


@dataclass(frozen=True, init=False)
class RunOptions:
    """What ``run`` is asked: which cells (:class:`Selection`), how the engine works
    (:class:`EngineOptions`) and where cells run (:class:`ExecutionOptions`). Built from the parts, or
    from flat keywords (the CLI's flags, e.g. ``RunOptions(profile="smoke", device="cpu")``), each
    given to the part that owns it."""

    selection: Selection
    engine: EngineOptions
    execution: ExecutionOptions

    def __init__(
        self,
        selection: Selection | None = None,
        engine: EngineOptions | None = None,
        execution: ExecutionOptions | None = None,
        **flags,
    ) -> None:
        given = {"selection": selection, "engine": engine, "execution": execution}
        for name, part in PARTS.items():
            own = {k: flags.pop(k) for k in list(flags) if k in part.__dataclass_fields__}
            value = given[name] or part()
            object.__setattr__(self, name, replace(value, **own) if own else value)
        if flags:
            raise TypeError(f"RunOptions got unknown options: {', '.join(sorted(flags))}")

    def replace(self, **flags) -> RunOptions:
        """A copy with ``flags`` changed, each in the part that owns it; a part's name replaces the
        whole part (``replace(selection=Selection(...))``)."""
        parts = {name: flags.pop(name, getattr(self, name)) for name in PARTS}
        return RunOptions(**parts, **flags)
