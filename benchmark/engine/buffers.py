"""The buffer service: data, spec resolution, buffer keys, and obtaining buffers.

A buffer is keyed by what determines it (data, resolved spec, ipc, classes, seed, code; decision 8)
and reused by every suite. A fit travels as one :class:`~benchmark.engine.plan.FitPlan` (data,
resolved spec and its class, IPC, seed, budget, key). :func:`fit_buffer` is the one fit-and-stamp
sequence (fit, manifest, storage, budget check) that suites, ``distill``, studies and the avalanche
integration share; :meth:`BufferService.obtain` adds the store: a saved buffer is loaded, a missing
one fitted and saved, and a strategy that fails or cannot fit yields an outcome the suite records
(decision 10).
"""

from __future__ import annotations

import time
import traceback
from dataclasses import dataclass, field
from typing import Any

import torch

from benchmark.budget import Budget
from benchmark.buffer import Buffer
from benchmark.cache import cache_key
from benchmark.data.classdata import ClassData, DatasetOptions
from benchmark.data.load import load_dataset
from benchmark.distill.precision import with_precision
from benchmark.distill.strategy import DistillationStrategy
from benchmark.engine.plan import FitPlan, fit_plan
from benchmark.errors import BudgetExceededError, CorruptFileError, DoesNotFitError, UserInputError
from benchmark.options import EngineOptions
from benchmark.profiles import Profile
from benchmark.results.record import code_identity
from benchmark.results.store import ResultStore
from benchmark.spec import parse_spec
from benchmark.strategy import FitContext, ResolvedSpec, Strategy, resolve, strategy_class
from benchmark.training.job import TrainingSet


@dataclass
class BufferOutcome:
    key: str
    resolved: ResolvedSpec
    budget: Budget | None
    status: str  # ok | failed | does_not_fit
    buffer: Buffer | None = None
    error: str | None = None
    numbers: dict[str, Any] = field(default_factory=dict)
    distill_wall_s: float = 0.0

    @property
    def storage(self) -> float | None:
        return self.buffer.storage if self.buffer is not None else self.numbers.get("storage")

    def training_set(self, device: torch.device | str = "cpu") -> TrainingSet:
        """The buffer's decoded images, labels (and soft labels) and learned lr, with storage and budget."""
        budget = self.budget.floats if self.budget else None
        return TrainingSet.of(self.buffer, device, budget=budget, buffer_key=self.key,
                              distill_wall_s=self.distill_wall_s)  # fmt: skip


def stamp(buffer: Buffer, plan: FitPlan, **extra: Any) -> None:
    """Write into the manifest what the buffer was made of and with (and its measured storage)."""
    data, resolved = plan.data, plan.resolved
    buffer.manifest.update(
        spec=resolved.canonical,
        strategy=resolved.name,
        dataset=data.name,
        preprocessing=data.preprocessing,
        mean=list(data.mean),
        std=list(data.std),
        whitening=data.whitening_key,
        data_source=data.source,
        data_fingerprint=data.fingerprint,
        ipc=plan.ipc,
        classes=list(data.classes),
        class_names=[data.class_names[c] for c in data.classes],
        image_shape=list(data.image_shape),
        seed=plan.seed,
        budget=plan.budget.floats if plan.budget else None,
        **extra,
        **code_identity(),
    )
    buffer.manifest["storage"] = buffer.storage


def fit_buffer(plan: FitPlan, context: FitContext, **extra: Any) -> Buffer:
    """Fit the plan's strategy, stamp the manifest, check that the buffer is finite and decodes to a
    class-balanced set (NonFiniteBufferError, CorruptFileError) and within its budget
    (BudgetExceededError)."""
    start = time.perf_counter()
    buffer = plan.fit(context)
    wall = time.perf_counter() - start + context.resumed_wall_s  # a resumed fit counts its earlier part
    stamp(buffer, plan, distill_wall_s=wall, **extra)
    buffer.check_finite()
    buffer.check(plan.budget)
    return buffer


def check_made_for(buffer: Buffer, path, plan: FitPlan) -> None:
    """A stored buffer must be the one its key names: spec, IPC, seed and classes (a file moved or
    copied under another key is refused, not evaluated as something it is not)."""
    asked = {"spec": plan.resolved.canonical, "ipc": plan.ipc, "seed": plan.seed}
    asked["classes"] = list(plan.data.classes)
    made = dict(buffer.manifest)
    if "spec" not in made and "strategy_name" in made:  # buffers named by the older manifest fields
        made["spec"] = made["strategy"]
    wrong = [name for name, value in asked.items() if made.get(name) != value]
    if wrong:
        raise CorruptFileError(
            f"{path} was made for another {', '.join(wrong)} than its place says (moved or copied)"
        )


class BufferService:
    def __init__(self, store: ResultStore, options: EngineOptions, profile: Profile, device: torch.device):
        self.store = store
        self.options = options
        self.profile = profile
        self.device = device
        self._data: dict[str, ClassData] = {}

    # ---- data ----------------------------------------------------------------------------
    def dataset_options(self, preprocessing: str = "meanstd") -> DatasetOptions:
        return DatasetOptions(
            data_root=self.options.data_root,
            download=self.options.download,
            preprocessing=preprocessing,
            cache_dir=self.store.cache_root,
        )

    def data(self, name: str, preprocessing: str = "meanstd") -> ClassData:
        """The dataset, loaded once per run and preprocessing."""
        key = f"{name}/{preprocessing}"
        if key not in self._data:
            self._data[key] = load_dataset(name, self.dataset_options(preprocessing))
        return self._data[key]

    def loaded(self) -> list[ClassData]:
        """The datasets loaded so far (to tell the user which files a run reads)."""
        return list(self._data.values())

    # ---- specs and keys --------------------------------------------------------------------
    def resolve(
        self, spec_text: str, dataset: str, ipc: int, classes: int | None = None, *, to_fit: bool = True,
        strategy: type[Strategy] | None = None,
    ) -> ResolvedSpec:  # fmt: skip
        """The spec resolved for a fit of ``classes`` of ``dataset`` (None: all its classes), with the
        run's distillation precision (benchmark/distill/precision.py). ``to_fit=False``: a made
        buffer's spec read back (``evaluate``), as it stands: nothing is distilled, so the run's
        precision is neither added nor checked against the device. ``strategy``: the spec's class
        where the caller holds it (a cell's other fits), so it is looked up once."""
        spec = parse_spec(spec_text)
        strategy = strategy or strategy_class(spec.name)
        if to_fit:
            distills = issubclass(strategy, DistillationStrategy)
            spec = with_precision(spec, self.options.distill_precision, self.device, distills)
        return resolve(spec, self.profile.name, dataset, ipc, classes, strategy)

    def plan(self, data: ClassData, resolved: ResolvedSpec, ipc: int, seed: int) -> FitPlan:
        """The fit of ``resolved`` to ``data`` with its key in this store."""
        return fit_plan(data, resolved, ipc, seed, self.key(data, resolved, ipc, seed))

    def key(self, data: ClassData, resolved: ResolvedSpec, ipc: int, seed: int) -> str:
        """What determines a buffer (decision 8): data, resolved spec, ipc, classes, seed, code."""
        options = self.dataset_options(data.preprocessing)
        return cache_key(
            "buffer",
            {
                "data": data.describe(),
                "split": {"val_fraction": options.val_fraction, "split_seed": options.split_seed},
                "strategy": resolved.canonical,
                "ipc": ipc,
                "seed": seed,
            },
        )

    # ---- obtaining -------------------------------------------------------------------------
    def obtain(self, plan: FitPlan) -> BufferOutcome:
        """The plan's buffer from the store, or fitted now and saved; never raises for a strategy's
        failure. ``plan`` comes from :meth:`plan` (it holds the key)."""
        data, resolved, key = plan.data, plan.resolved, plan.key
        outcome = BufferOutcome(key, resolved, plan.budget, "ok")
        path = self.store.buffer_path(resolved.name, key)
        if path.exists() and not path.is_file():
            outcome.status, outcome.error = (
                "failed",
                f"the buffer path {path} is taken by a folder; remove it",
            )
            return outcome
        if path.is_file() and not self.options.force:
            try:
                outcome.buffer = Buffer.load(path, expected_dataset=data.name)
                outcome.buffer.check_data(data)
                check_made_for(outcome.buffer, path, plan)
            except (CorruptFileError, UserInputError) as error:  # one bad file fails its cell, not the run
                outcome.status = "failed"
                outcome.error = f"{error}; or re-run with --force to distill it again"
                return outcome
            outcome.distill_wall_s = outcome.buffer.manifest.get("distill_wall_s", 0.0)
            return outcome
        options = self.dataset_options(data.preprocessing)
        context = FitContext(
            device=self.device,
            cache_root=self.store.cache_root,
            profile=self.profile.name,
            show_progress=self.options.show_progress,
            checkpoint_path=self.store.checkpoint_path(key),
        )
        if self.options.force:  # redo means from the start, not from a checkpoint
            context.checkpoint_path.unlink(missing_ok=True)
        try:
            split = {"val_fraction": options.val_fraction, "split_seed": options.split_seed}
            buffer = fit_buffer(plan, context, **split)
        except DoesNotFitError as error:
            outcome.status, outcome.error, outcome.numbers = "does_not_fit", str(error), error.numbers
            return outcome
        except BudgetExceededError as error:
            outcome.status, outcome.error = "failed", str(error)
            outcome.numbers = {"storage": error.storage}
            return outcome
        except Exception as error:  # a failed cell is recorded and the run goes on (decision 10)
            outcome.status = "failed"
            outcome.error = f"{type(error).__name__}: {error}"
            outcome.numbers = {"traceback": traceback.format_exc(limit=8)}
            return outcome
        buffer.save(path)
        context.checkpoint_path.unlink(missing_ok=True)
        outcome.buffer = buffer
        outcome.distill_wall_s = buffer.manifest["distill_wall_s"]
        return outcome
