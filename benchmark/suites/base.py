"""The Suite contract: settings, cells, named hooks, and the table a suite's records make.

A suite expands a run into cells (independent units of work an executor runs). Running a cell is
the same for every suite: each of its *units* (a training set: one buffer, or a continual memory of
several) has evaluation networks × repeats; what is not recorded yet is trained and recorded. Each
buffer is resolved for the classes it is made from (a continual step's, decision 9), and a unit's
records name the spec of its last buffer. A suite changes what differs through hooks:

- ``units(cell, resolved)``: the training sets of a cell, the data each buffer is made from, the
  record fields that tell them apart, the test split;
- ``training_set(unit, outcomes)``: the images a unit's networks train on (default: the buffer's);
- ``extra_metrics(net, job)``: metrics beyond ``accuracy`` of each trained network.

It declares its ``defaults`` per profile (settings, evaluation recipes and, under
``strategy_settings``, its own spec values per strategy, decision 9) and its
``table`` (rows, how records become columns, the figure kind) next to its code, so a suite is one
file, inside or outside the tree.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from benchmark.cache import stable_hash
from benchmark.data.classdata import ClassData, Split
from benchmark.engine import Engine
from benchmark.engine.buffers import BufferOutcome
from benchmark.engine.plan import CellPlan, FitPlan, Reading, UnitPlan, fit_plan
from benchmark.errors import UserInputError
from benchmark.nets import convnet_for
from benchmark.options import RunOptions
from benchmark.profiles import Profile
from benchmark.registries import DATASETS, NETWORKS
from benchmark.results.config import FIELDS, RecordConfig
from benchmark.seeding import derive_seed
from benchmark.spec import canonical, format_value, parse_spec
from benchmark.strategy import ResolvedSpec, Strategy
from benchmark.training.job import EvaluationJob, TrainingSet
from benchmark.training.recipe import EvalRecipe

# Selection attribute -> the setting it overrides.
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


def accuracy_observations(frame: pd.DataFrame) -> pd.DataFrame:
    """Every ``accuracy`` row in one column (a table for a suite that declares nothing else)."""
    obs = frame[frame["metric"] == "accuracy"].copy()
    obs["column"], obs["order"], obs["axis"] = "accuracy", [(0,)] * len(obs), np.nan
    return obs


# setting → (its flag, the smallest value, the largest value); every one named here is checked before
# any work: lists must not be empty, numbers must lie within bounds.
SEED_MAX = 2**32 - 1
BOUNDS = {
    "datasets": ("--dataset", None, None),
    "strategies": ("--strategies", None, None),
    "ipc": ("--ipc", 1, None),
    "seeds": ("--seeds", 0, SEED_MAX),
    "networks": ("--networks", None, None),
    "class_orders": ("--class-orders", 0, SEED_MAX),
    "repeats": ("--repeats", 1, 1000),
    "steps": ("--steps", 1, None),
}


def check_settings(settings: dict[str, Any]) -> None:
    """One line naming the first bad value and its flag: an empty list, a number out of bounds."""
    for name, (flag, low, high) in BOUNDS.items():
        if name not in settings:
            continue
        value = settings[name]
        values = value if isinstance(value, list) else [value]
        if isinstance(value, list) and not value:
            raise UserInputError(f"{flag} names no value; give at least one, e.g. {flag} {_example(name)}")
        twice = sorted({str(v) for v in values if values.count(v) > 1})
        if twice:
            raise UserInputError(f"{flag} names {', '.join(twice)} twice; name each once")
        for item in values:
            if low is None:
                continue
            if not isinstance(item, int) or isinstance(item, bool) or item < low or (high and item > high):
                bound = f"between {low} and {high}" if high else f"at least {low}"
                raise UserInputError(f"{flag} {item!r} is out of range; it must be an integer {bound}")


def _example(name: str) -> str:
    return {"datasets": "fashion_mnist", "strategies": "random,dm", "networks": "ConvNet"}.get(name, "1")


@dataclass(frozen=True)
class TableSpec:
    """How a suite's records become a table. ``observe`` maps one table's frame (one dataset, suite
    and profile; measured rows and, with status ``reported``, published ones) to observations: rows
    with a ``column`` name, its sort ``order`` and ``axis`` (a number where the columns form an axis,
    e.g. continual steps, else NaN). ``rows`` are the row keys; ``figure`` is ``lines`` (along the
    axis), ``bars`` (over the columns) or ``storage`` (accuracy against storage), or None. Columns in
    ``unranked`` are shown but never ranked, marked best or turned into gains (a measure where lower
    is better, such as forgetting)."""

    observe: Callable[[pd.DataFrame], pd.DataFrame] = accuracy_observations
    rows: tuple[str, ...] = ("label", "ipc", "network")
    figure: str | None = None
    axis_label: str = ""
    unranked: tuple[str, ...] = ()


@dataclass(frozen=True)
class Cell:
    dataset: str
    spec: str  # as given
    ipc: int
    seed: int  # distillation seed


@dataclass
class Unit:
    """One training set of a cell: the data its networks use, the data each of its buffers is made
    from (in order), the record fields that tell it from the cell's other units, its test split."""

    data: ClassData
    parts: list[ClassData]
    fields: dict[str, Any] = field(default_factory=dict)
    test: Split | None = None


class Suite:
    """Base class; see the module docstring."""

    name: ClassVar[str] = ""
    defaults: ClassVar[dict[str, dict[str, Any]]] = {}  # profile → settings, incl. "recipes"
    table: ClassVar[TableSpec] = TableSpec()
    # The suite's own record fields (names in a unit's ``fields`` beyond RecordConfig's): settings,
    # written under the record's ``suite_fields`` so that reading the record needs no suite.
    record_fields: ClassVar[tuple[str, ...]] = ()

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        taken = sorted(set(cls.record_fields) & set(FIELDS))
        if taken:
            raise TypeError(f"suite {cls.name or cls.__name__!r} declares {taken[0]!r}, a field every record "
                            "has; rename it")  # fmt: skip

    def __init__(self, options: RunOptions, profile: Profile, engine: Engine):
        self.options = options
        self.profile = profile
        self.engine = engine
        self.settings = profile.settings(type(self))
        self.recipes = self.settings.pop("recipes", {})
        self.preprocessings = self.settings.pop("preprocessing", None)
        self.strategy_settings = self.settings.pop("strategy_settings", {})
        for attribute, setting in OVERRIDES.items():
            value = getattr(options.selection, attribute)
            if value is not None:
                if setting not in self.settings:  # e.g. --steps on the standard suite
                    raise UserInputError(f"{BOUNDS[setting][0]} does not apply to the {self.name} suite")
                self.settings[setting] = value
        check_settings(self.settings)

    # ---- cells -------------------------------------------------------------------------------
    def cells(self) -> list[Cell]:
        """Datasets × strategies × IPCs × seeds; bad specs and unknown networks fail before any work."""
        cells = [
            Cell(dataset, spec, ipc, seed)
            for dataset in self.settings["datasets"]
            for spec in self.settings["strategies"]
            for ipc in self.settings["ipc"]
            for seed in self.settings["seeds"]
        ]
        for dataset in self.settings["datasets"]:
            DATASETS.get(dataset)
        for network in self.settings["networks"]:
            NETWORKS.get(network)
        for cell in cells:
            self.check_cell(cell, self.resolve(cell))
        self.check_networks()
        self.check_class_sizes(cells)
        return cells

    def check_cell(self, cell: Cell, resolved: ResolvedSpec) -> None:
        """A suite's own refusal of a cell, one line before any work (none by default)."""

    def check_networks(self) -> None:
        """Each network, built with its recipe's options, must take each dataset's images: one
        forward of a blank image, before any work (a network too deep for small images fails here)."""
        from benchmark.nets import check_network

        for dataset in self.settings["datasets"]:
            info = DATASETS.info(dataset)
            if "shape" in info and "classes" in info:
                channels, size, _ = info["shape"]
                for network in self.settings["networks"]:
                    options = self.recipe(network, None, dataset, 1).network_options
                    trained = self.evaluation_network(network, dataset)
                    check_network(trained, channels, size, info["classes"], **options)

    def evaluation_network(self, network: str, dataset: str) -> str:
        """The network a listed one trains as. With the setting ``convnet_by_resolution`` (the paper
        defaults), ``ConvNet`` is the published protocols' ConvNet for the dataset's resolution
        (:func:`benchmark.nets.convnet_for`: ConvNetD4 at 64 px, ConvNetD5 at 128 px), trained under
        ``ConvNet``'s recipe; records name the network trained, as the published tables do."""
        if network == "ConvNet" and self.settings.get("convnet_by_resolution"):
            return convnet_for(dataset)
        return network

    def check_class_sizes(self, cells: list[Cell]) -> None:
        """An IPC above the training images of a class cannot be a balanced buffer: one line naming
        the class and its size, before any work."""
        largest: dict[str, Cell] = {}
        for cell in cells:
            if cell.ipc > getattr(largest.get(cell.dataset), "ipc", 0):
                largest[cell.dataset] = cell
        for dataset, cell in largest.items():
            data = self.data(dataset, self.resolve(cell), cell.ipc)
            counts = {c: len(data.train.class_indices(c)) for c in data.classes}
            smallest = min(counts, key=counts.get)
            if cell.ipc > counts[smallest]:
                raise UserInputError(
                    f"--ipc {cell.ipc} is more than the {counts[smallest]} training images of class "
                    f"{smallest} ({data.class_names[smallest]}) of {dataset}; choose ipc ≤ {counts[smallest]}"
                )

    def describe_cell(self, cell: Cell) -> str:
        return f"{cell.spec} ipc={cell.ipc} seed={cell.seed}"

    def resolve(
        self, cell: Cell, classes: int | None = None, strategy: type[Strategy] | None = None
    ) -> ResolvedSpec:
        """The cell's spec resolved for a fit of ``classes`` (None: every class of the dataset); under
        ``--eval-recipe original`` with the values the strategy's published recipe sets for
        distillation (its ``spec``, e.g. experts trained as its code trains them) beneath those the
        spec gives. ``strategy``: the spec's class where the caller holds it (looked up once a cell)."""
        resolved = self.engine.buffers.resolve(cell.spec, cell.dataset, cell.ipc, classes, strategy=strategy)
        published = self.original(resolved, cell.dataset, cell.ipc).get("spec") or {}
        suite = self.settings_for(resolved)
        if not published and not suite:
            return resolved
        given = parse_spec(cell.spec)
        return self.engine.buffers.resolve(
            canonical(given.name, suite | published | given.params), cell.dataset, cell.ipc, classes,
            strategy=resolved.strategy,
        )  # fmt: skip

    def settings_for(self, resolved: ResolvedSpec) -> dict[str, Any]:
        """The suite's own spec values for a strategy (beneath the spec's, above its presets): those
        of every ``strategy_settings`` key naming it whose values it has, e.g. ``speed:objective=dm``
        for SPEED × DM; a key giving more values wins over one giving fewer."""
        matching = []
        for text, values in self.strategy_settings.items():
            key = parse_spec(text)
            if key.name == resolved.name and all(
                format_value(resolved.config.get(k)) == format_value(v) for k, v in key.params.items()
            ):
                matching.append((len(key.params), values))
        settings: dict[str, Any] = {}
        for _, values in sorted(matching, key=lambda match: match[0]):
            settings |= values
        return settings

    # ---- data and recipes (decision 5) -----------------------------------------------------------
    def original(self, resolved: ResolvedSpec, dataset: str, ipc: int) -> dict[str, Any]:
        """The strategy's published recipe when ``--eval-recipe original`` asks for it, else {}."""
        if self.options.selection.eval_recipe != "original":
            return {}
        return dict(resolved.strategy.original_recipe(resolved.config, dataset, ipc) or {})

    def preprocessing(self, dataset: str, resolved: ResolvedSpec, ipc: int) -> str:
        """The suite's (else the profile's) preprocessing of ``dataset``, or the method's own under
        ``--eval-recipe original``."""
        original = self.original(resolved, dataset, ipc).get("preprocessing")
        if original:
            return original
        if self.preprocessings is not None:
            return self.preprocessings.get(dataset, "meanstd")
        return self.profile.preprocessing(dataset)

    def data(self, dataset: str, resolved: ResolvedSpec, ipc: int) -> ClassData:
        return self.engine.buffers.data(dataset, self.preprocessing(dataset, resolved, ipc))

    def recipe(self, network: str, resolved: ResolvedSpec | None, dataset: str, ipc: int) -> EvalRecipe:
        """The suite's recipe for ``network``; the strategy's own where it insists (an upper bound's
        fixed recipe) or where ``--eval-recipe original`` asks for its published one (None: no
        strategy is known, the suite's recipe as it stands). A network standing in for the listed
        ``ConvNet`` (:meth:`evaluation_network`) takes ``ConvNet``'s recipe."""
        stands_in = network == self.evaluation_network("ConvNet", dataset) != "ConvNet"
        if stands_in and network not in self.settings["networks"]:
            network = "ConvNet"
        settings = dict(self.recipes.get("default", {})) | dict(self.recipes.get(network, {}))
        if self.options.engine.precision != "fp32":  # an explicit choice, recorded with the recipe
            settings["precision"] = self.options.engine.precision
        # --eval-lr: every buffer at one fixed lr, over any recipe's own (recorded with the recipe)
        eval_lr = self.options.engine.eval_lr
        common_lr = {} if eval_lr is None else {"lr": eval_lr, "use_buffer_lr": False}
        if resolved is None:
            return EvalRecipe.from_settings(settings | common_lr)
        fixed = resolved.strategy.fixed_recipe(self.profile.name)
        if fixed is not None:
            return EvalRecipe.from_settings(settings | fixed | common_lr)
        original = self.original(resolved, dataset, ipc)
        original.pop("preprocessing", None)
        original.pop("spec", None)
        if original:
            return EvalRecipe.from_settings(settings | original | {"name": "original"} | common_lr)
        return EvalRecipe.from_settings(settings | common_lr)

    # ---- hooks -------------------------------------------------------------------------------
    def units(self, cell: Cell, resolved: ResolvedSpec) -> list[Unit]:
        """The cell's training sets: by default one, the cell's buffer on the whole dataset."""
        data = self.data(cell.dataset, resolved, cell.ipc)
        return [Unit(data, [data])]

    def training_set(self, unit: UnitPlan, outcomes: list[BufferOutcome]) -> TrainingSet:
        """What the unit's networks train on: by default its one buffer."""
        (outcome,) = outcomes
        return outcome.training_set(self.engine.device)

    def extra_metrics(self, net, job: EvaluationJob) -> dict[str, float]:
        """Metrics of a trained network beyond ``accuracy`` (none by default)."""
        return {}

    # ---- planning and running a cell ------------------------------------------------------------
    def plan(self, cell: Cell) -> CellPlan:
        """The cell made concrete once (:class:`~benchmark.engine.plan.CellPlan`): its spec resolved
        and its strategy class, the data, and for each unit the fits of its buffers (each resolved for
        its own classes, a continual step's), the recipe of each network and the record configs. A
        part that several units use (a continual step's data) is planned once, its fit shared."""
        buffers = self.engine.buffers
        resolved = self.resolve(cell)
        whole = fit_plan(self.data(cell.dataset, resolved, cell.ipc), resolved, cell.ipc, cell.seed)
        planned: dict[int, FitPlan] = {}  # id of a unit's part → its fit
        units = []
        for unit in self.units(cell, resolved):
            for part in unit.parts:
                if id(part) not in planned:
                    part_resolved = self.resolve(cell, len(part.classes), resolved.strategy)
                    planned[id(part)] = buffers.plan(part, part_resolved, cell.ipc, cell.seed)
            units.append(self.unit_plan(cell, unit, [planned[id(part)] for part in unit.parts]))
        reading = Reading.of(resolved.strategy, resolved)
        return CellPlan(cell, resolved, whole.data, whole.budget, reading, units)

    def split_fields(self, given: dict[str, Any]) -> dict[str, Any]:
        """A unit's record fields as RecordConfig takes them: the built-in ones as they are, the
        suite's own (declared in ``record_fields``) under ``suite_fields``; an undeclared one refused."""
        own = {name: value for name, value in given.items() if name not in FIELDS}
        undeclared = sorted(set(own) - set(self.record_fields))
        if undeclared:
            raise TypeError(
                f"suite {self.name!r} gives record field {undeclared[0]!r}, which neither RecordConfig nor "
                f"the suite declares; add it to the suite's record_fields, e.g. record_fields = "
                f"({undeclared[0]!r},)"
            )
        built_in = {name: value for name, value in given.items() if name in FIELDS}
        return built_in | ({"suite_fields": dict(sorted(own.items()))} if own else {})

    def unit_plan(self, cell: Cell, unit: Unit, fits: list[FitPlan]) -> UnitPlan:
        """A unit's fits, the recipe of each network (for the spec its records name: the last fit's)
        and one record config per network × repeat; repeat r's evaluation seed derives from the
        unit's buffer keys and r."""
        resolved = fits[-1].resolved
        keys = [fit.key for fit in fits]
        recipes = {
            self.evaluation_network(name, cell.dataset): self.recipe(name, resolved, cell.dataset, cell.ipc)
            for name in self.settings["networks"]
        }
        base = RecordConfig(
            dataset=cell.dataset, preprocessing=unit.data.preprocessing, suite=self.name,
            profile=self.profile.name, spec=resolved.canonical, strategy=resolved.name, ipc=cell.ipc,
            distill_seed=cell.seed,
        ).with_fields(**self.split_fields(unit.fields))  # fmt: skip
        configs = [
            replace(
                base, network=network, eval_recipe=recipe.describe(), repeat=repeat,
                eval_seed=derive_seed(stable_hash(keys), repeat),
            )  # fmt: skip
            for network, recipe in recipes.items()
            for repeat in range(self.settings["repeats"])
        ]
        return UnitPlan(unit.data, fits, unit.test, configs, recipes)

    def run_cell(self, cell: Cell) -> None:
        self.run_plan(self.plan(cell))

    def run_plan(self, plan: CellPlan) -> None:
        buffers, evaluation = self.engine.buffers, self.engine.evaluation
        outcomes: dict[str, BufferOutcome] = {}
        for unit in plan.units:
            pending = evaluation.pending(unit.configs)
            if not pending:
                continue
            for fit in unit.fits:
                if fit.key not in outcomes:
                    outcomes[fit.key] = buffers.obtain(fit)
            parts = [outcomes[fit.key] for fit in unit.fits]
            failed = next((o for o in parts if o.status != "ok"), None)
            if failed is not None:  # no training set without all its buffers
                for config in pending:
                    if config.repeat == 0:
                        evaluation.write_failure(config, plan.reading, failed)
                continue
            training = self.training_set(unit, parts)
            for config in pending:
                job = EvaluationJob(
                    config.network, unit.data, training, unit.recipes[config.network], config.eval_seed,
                    unit.test,
                )  # fmt: skip
                try:
                    trained = evaluation.train(job)
                    metrics = {"accuracy": trained.accuracy} | self.extra_metrics(trained.net, job)
                except Exception as error:  # a network that fails to train is one failed record
                    evaluation.write_error(config, plan.reading, training, error)
                    continue
                evaluation.write(config, plan.reading, training, metrics, trained)
