"""The Strategy contract: the registered unit that turns real data and a budget into a Buffer.

A strategy declares the spec keys it accepts (``params``), its defaults per (profile, dataset,
ipc, classes of the fit) (``presets``, decision 9), optionally its published evaluation recipe
(``original_recipe``, decision 5), and implements ``fit``. The harness resolves the spec, fills
the manifest, checks the budget and saves the buffer.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import torch

from benchmark.budget import Budget
from benchmark.buffer import Buffer
from benchmark.data.classdata import ClassData
from benchmark.errors import UserInputError
from benchmark.spec import Param, Spec, canonical, former_names, parse_spec, validate_params


@dataclass
class FitContext:
    """What a strategy may use besides data and budget."""

    device: torch.device = field(default_factory=lambda: torch.device("cpu"))
    cache_root: Path = Path("results")
    profile: str = "quick"
    show_progress: bool = True
    checkpoint_path: Path | None = None  # where a long fit keeps its resumable state
    checkpoint_every_s: float = 120.0
    # Iterations after which a distillation hands the buffer made so far to ``on_snapshot``
    # (studies evaluate one long run at several schedules instead of one run per schedule).
    snapshot_at: tuple[int, ...] = ()
    on_snapshot: Callable[[int, Buffer], None] | None = None
    # Set by the loop: when this process started distilling, and the wall time of the work a
    # resumed checkpoint holds, so a resumed buffer records its total distillation time.
    started: float = 0.0
    resumed_wall_s: float = 0.0


ROLES = ("method", "reference", "upper_bound")


class Strategy:
    """Base class of registered strategies.

    ``role`` tells the report how to treat the strategy's rows, so the report never names one:
    ``method`` (ranked), ``reference`` (ranked; the gain columns are measured against it, as against
    ``random``), ``upper_bound`` (shown, never ranked, e.g. ``whole``).
    """

    name: ClassVar[str] = ""
    params: ClassVar[dict[str, Param]] = {}
    role: ClassVar[str] = "method"
    budgeted: ClassVar[bool] = True  # False only for an unbudgeted upper bound such as ``whole``

    def __init__(self, config: dict[str, Any]):
        self.config = config

    @classmethod
    def declared_params(cls, given: dict[str, Any]) -> dict[str, Param]:
        """Accepted keys; may depend on given values (e.g. SPEED's keys include its objective's)."""
        return cls.params

    @classmethod
    def presets(
        cls, profile: str, dataset: str, ipc: int, given: dict[str, Any], classes: int | None = None
    ) -> dict[str, Any]:
        """Defaults for (profile, dataset, ipc) that override the plain defaults. ``classes`` is the
        class count of the fit (a continual step's, not the dataset's; None: unknown), for a method
        that sizes itself to it; an override without the parameter is called without it."""
        return {}

    @classmethod
    def fixed_recipe(cls, profile: str) -> dict[str, Any] | None:
        """A recipe the strategy is always evaluated with, whatever the suite (only ``whole``)."""
        return None

    @classmethod
    def original_recipe(cls, config: dict[str, Any], dataset: str, ipc: int) -> dict[str, Any] | None:
        """Overrides of the evaluation recipe reproducing the method's published protocol for
        (dataset, ipc) (``--eval-recipe original``, decision 5). The key ``preprocessing``
        (meanstd | zca) sets the data the method's code used, for distillation and evaluation."""
        return None

    def fit(self, data: ClassData, budget: Budget, seed: int, context: FitContext) -> Buffer:
        raise NotImplementedError


@dataclass(frozen=True)
class ResolvedSpec:
    """A spec with every default filled in, and its registered class: looked up once where the spec
    is resolved (or here, for one built by hand) and carried with it, so what plans and runs the spec
    asks it, not the registry. The class is not part of what the spec is: equality, the canonical text
    and so every key ignore it."""

    name: str
    config: dict[str, Any]
    strategy: type[Strategy] = field(default=None, compare=False, repr=False)

    def __post_init__(self) -> None:
        if self.strategy is None:
            object.__setattr__(self, "strategy", strategy_class(self.name))

    @property
    def canonical(self) -> str:
        return canonical(self.name, self.config)


def strategy_class(name: str) -> type[Strategy]:
    from benchmark.registries import STRATEGIES

    return STRATEGIES.get(name)


def strategy_role(name: str) -> str:
    """The registered strategy's role; ``method`` for a name this process does not know."""
    from benchmark.errors import UnknownNameError

    try:
        return strategy_class(name).role
    except UnknownNameError:
        return "method"


def former_keys(spec: str) -> list[str]:
    """The keys a stored spec gives by a former name (renamed since it was written: this code resolves
    the spec to another one, so its buffer and records have other keys); [] for a strategy this process
    does not know."""
    from benchmark.errors import BenchmarkError

    try:
        parsed = parse_spec(spec)
        former = former_names(strategy_class(parsed.name).declared_params(parsed.params))
    except BenchmarkError:
        return []
    return [key for key in parsed.params if key in former]


def registered_classes(dataset: str) -> int | None:
    """The class count a dataset registered beside its loader; None for a name without one."""
    from benchmark.registries import DATASETS

    return DATASETS.info(dataset).get("classes") if dataset in DATASETS else None


def takes_classes(presets: Callable[..., dict[str, Any]]) -> bool:
    """Whether a ``presets`` accepts the classes of the fit (a plugin written before it did not)."""
    parameters = inspect.signature(presets).parameters.values()
    return any(p.name == "classes" or p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters)


def resolve(
    spec: Spec, profile: str, dataset: str, ipc: int, classes: int | None = None,
    strategy: type[Strategy] | None = None,
) -> ResolvedSpec:  # fmt: skip
    """Every default filled in: spec values > presets for (profile, dataset, ipc, classes of the fit) >
    plain defaults. ``classes`` defaults to every class the dataset registered; ``strategy``: the spec's
    class where the caller holds it already (another fit of one cell), else looked up here."""
    cls = strategy or strategy_class(spec.name)
    declared = cls.declared_params(spec.params)
    given = validate_params(spec.name, declared, spec.params)
    if classes is None:
        classes = registered_classes(dataset)
    fit = {"classes": classes} if takes_classes(cls.presets) else {}
    presets = validate_params(spec.name, declared, cls.presets(profile, dataset, ipc, given, **fit))
    config = {key: param.default for key, param in declared.items()} | presets | given
    missing = [key for key, value in config.items() if value is None and declared[key].type is not None]
    if missing:
        raise UserInputError(f"strategy {spec.name!r} needs a value for {', '.join(missing)}")
    return ResolvedSpec(spec.name, dict(sorted(config.items())), cls)
