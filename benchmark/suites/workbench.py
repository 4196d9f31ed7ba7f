"""The work every suite shares: loading data, obtaining buffers (cached by key), evaluating them.

Buffers are keyed by what determines them (data, resolved spec, ipc, classes, seed; decision 8)
and reused by every suite. A strategy that fails or cannot fit yields an outcome that the suite
turns into ``failed`` / ``does_not_fit`` records; the run goes on (decision 10).
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
from benchmark.data.classdata import ClassData, DatasetOptions, Split, load_dataset
from benchmark.device import resolve_device
from benchmark.errors import BudgetExceededError, DoesNotFitError
from benchmark.profiles import Profile
from benchmark.results.record import code_identity, make_record, record_key
from benchmark.results.store import ResultStore
from benchmark.seeding import derive_seed
from benchmark.spec import parse_spec
from benchmark.strategy import FitContext, ResolvedSpec, resolve, strategy_class
from benchmark.suites.options import RunOptions
from benchmark.training.evaluate import evaluate_images
from benchmark.training.recipe import EvalRecipe


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


class Workbench:
    def __init__(self, options: RunOptions, profile: Profile):
        self.options = options
        self.profile = profile
        self.store = ResultStore(options.output_dir)
        self.device = resolve_device(options.device)
        self._data: dict[str, ClassData] = {}

    # ---- data ----------------------------------------------------------------------------
    def dataset_options(self, preprocessing: str = "meanstd") -> DatasetOptions:
        return DatasetOptions(
            data_root=self.options.data_root,
            download=self.options.download,
            preprocessing=preprocessing,
            cache_dir=self.store.root,
        )

    def data(self, name: str, preprocessing: str = "meanstd") -> ClassData:
        key = f"{name}/{preprocessing}"
        if key not in self._data:
            self._data[key] = load_dataset(name, self.dataset_options(preprocessing))
        return self._data[key]

    # ---- buffers -------------------------------------------------------------------------
    def resolve(self, spec_text: str, dataset: str, ipc: int) -> ResolvedSpec:
        return resolve(parse_spec(spec_text), self.profile.name, dataset, ipc)

    def buffer_key(self, data: ClassData, resolved: ResolvedSpec, ipc: int, seed: int) -> str:
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

    def obtain_buffer(self, data: ClassData, resolved: ResolvedSpec, ipc: int, seed: int) -> BufferOutcome:
        """The buffer from the store, or distilled now and saved; never raises for a strategy's failure."""
        cls = strategy_class(resolved.name)
        options = self.dataset_options(data.preprocessing)
        key = self.buffer_key(data, resolved, ipc, seed)
        budget = Budget(ipc, len(data.classes), data.image_shape) if cls.budgeted else None
        outcome = BufferOutcome(key, resolved, budget, "ok")
        path = self.store.buffer_path(resolved.name, key)
        if path.is_file() and not self.options.force:
            outcome.buffer = Buffer.load(path, expected_dataset=data.name)
            outcome.buffer.check_data(data)
            outcome.distill_wall_s = outcome.buffer.manifest.get("distill_wall_s", 0.0)
            return outcome
        context = FitContext(
            device=self.device,
            cache_root=self.store.root,
            profile=self.profile.name,
            show_progress=self.options.show_progress,
            checkpoint_path=self.store.checkpoint_path(key),
        )
        start = time.perf_counter()
        try:
            buffer = cls(resolved.config).fit(data, budget, seed, context)
            buffer.manifest.update(
                strategy=resolved.canonical,
                strategy_name=resolved.name,
                dataset=data.name,
                preprocessing=data.preprocessing,
                mean=list(data.mean),
                std=list(data.std),
                whitening=data.whitening_key,
                ipc=ipc,
                classes=list(data.classes),
                image_shape=list(data.image_shape),
                seed=seed,
                val_fraction=options.val_fraction,
                split_seed=options.split_seed,
                budget=budget.floats if budget else None,
                distill_wall_s=time.perf_counter() - start,
                **code_identity(),
            )
            buffer.manifest["storage"] = buffer.storage
            buffer.check(budget)
        except DoesNotFitError as error:
            outcome.status, outcome.error, outcome.numbers = "does_not_fit", str(error), error.numbers
            return outcome
        except BudgetExceededError as error:
            outcome.status, outcome.error = "failed", str(error)
            outcome.numbers = {"storage": buffer.storage}
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

    # ---- evaluation ----------------------------------------------------------------------
    def original(self, resolved: ResolvedSpec, dataset: str, ipc: int) -> dict[str, Any]:
        """The strategy's published recipe when ``--eval-recipe original`` asks for it, else {}."""
        if self.options.eval_recipe != "original":
            return {}
        return dict(strategy_class(resolved.name).original_recipe(resolved.config, dataset, ipc) or {})

    def preprocessing(self, suite: str | None, dataset: str, resolved: ResolvedSpec, ipc: int) -> str:
        """The data a cell distils and evaluates on: the profile's for (suite, dataset) (decision 5),
        or the method's own under ``--eval-recipe original``."""
        original = self.original(resolved, dataset, ipc)
        return original.get("preprocessing") or self.profile.preprocessing(suite, dataset)

    def recipe(self, suite: str, network: str, resolved: ResolvedSpec, dataset: str, ipc: int) -> EvalRecipe:
        """The suite's recipe for ``network``; the strategy's own where it insists (``whole``) or
        where ``--eval-recipe original`` asks for its published one."""
        recipe = self.profile.recipe(suite, network)
        cls = strategy_class(resolved.name)
        fixed = cls.fixed_recipe(self.profile.name)
        if fixed is not None:
            return EvalRecipe.from_settings(recipe.describe() | fixed)
        original = self.original(resolved, dataset, ipc)
        original.pop("preprocessing", None)
        if original:
            return EvalRecipe.from_settings(recipe.describe() | original | {"name": "original"})
        return recipe

    def evaluate(
        self,
        config: dict[str, Any],
        outcome: BufferOutcome,
        images: torch.Tensor,
        labels: torch.Tensor,
        lr: float | None,
        data: ClassData,
        recipe: EvalRecipe,
        test: Split | None = None,
        extra_metrics=None,
    ) -> dict[str, Any]:
        """Train one evaluation network and return its record (written to the store too)."""
        start = time.perf_counter()
        net, accuracy = evaluate_images(
            config["network"],
            data,
            images,
            labels,
            lr,
            recipe,
            config["eval_seed"],
            self.device,
            test,
            self.options.show_progress,
            compile_mode=self.options.compile,
        )
        metrics = {"accuracy": accuracy}
        if extra_metrics is not None:
            metrics |= extra_metrics(net)
        record = make_record(
            config,
            "ok",
            metrics=metrics,
            storage=outcome.storage,
            budget=outcome.budget.floats if outcome.budget else None,
            learned_lr=lr,
            wall_time_s={"distill": outcome.distill_wall_s, "evaluate": time.perf_counter() - start},
            buffer=outcome.key,
        )
        self.store.put(record)
        return record

    def record_outcome_failure(self, config: dict[str, Any], outcome: BufferOutcome) -> dict[str, Any]:
        """The one record of a cell whose buffer failed or does not fit."""
        record = make_record(
            config,
            outcome.status,
            storage=outcome.storage,
            budget=outcome.budget.floats if outcome.budget else None,
            error=outcome.error,
            numbers=outcome.numbers,
            buffer=outcome.key,
        )
        self.store.put(record)
        return record

    def pending(self, configs: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Configs still to evaluate. A network whose first repeat failed or does not fit is settled
        by that one record (unless --retry-failed / --force)."""
        pending, settled = [], set()
        for config in configs:
            record = self.store.get(config["suite"], record_key(config))
            if self.options.force or record is None:
                pending.append(config)
            elif record["status"] == "ok":
                continue
            elif record["status"] == "failed" and self.options.retry_failed:
                pending.append(config)
            else:
                settled.add(config["network"])
        return [c for c in pending if c["network"] not in settled]

    @staticmethod
    def eval_seed(buffer_key: str, repeat: int) -> int:
        return derive_seed(buffer_key, repeat)
