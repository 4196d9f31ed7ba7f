"""The evaluation service: train one job's network, write its record, tell what is still to do."""

from __future__ import annotations

import time
import traceback
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn as nn

from benchmark.engine.plan import Reading
from benchmark.options import EngineOptions
from benchmark.results.config import RecordConfig
from benchmark.results.record import Record, record_key
from benchmark.results.store import ResultStore
from benchmark.training.compiled import should_compile
from benchmark.training.evaluate import SOFT_LABEL_LOSS, train_and_test
from benchmark.training.job import EvaluationJob, TrainingSet


@dataclass
class TrainedNetwork:
    net: nn.Module
    accuracy: float
    seconds: float
    compile: str  # on | off: whether its training ran through torch.compile (``--compile`` resolved)


def soft_label_info(training: TrainingSet) -> dict[str, Any] | None:
    """What a record says of the training set's soft labels (their kind, temperature and the loss
    they trained with); None for hard labels."""
    if training.soft_labels is None:
        return None
    return training.soft_labels.describe() | {"loss": SOFT_LABEL_LOSS}


class EvaluationService:
    def __init__(self, store: ResultStore, options: EngineOptions, device: torch.device):
        self.store = store
        self.options = options
        self.device = device

    def runtime(self) -> dict[str, Any]:
        """What the numbers depend on besides the seeds (decision 12): same values, same numbers."""
        return {"threads": torch.get_num_threads(), "device": str(self.device), "torch": torch.__version__}

    def train(self, job: EvaluationJob) -> TrainedNetwork:
        """Train and test the job's network; ``--compile auto`` is resolved here, for this job's
        training, and the training told the outcome, so the record says what ran."""
        passes, _ = job.recipe.lr_schedule()
        compiled = should_compile(self.options.compile, self.device, passes, len(job.training.labels))
        mode = "on" if compiled else "off"
        start = time.perf_counter()
        net, accuracy = train_and_test(job, self.device, self.options.show_progress, mode)
        return TrainedNetwork(net, accuracy, time.perf_counter() - start, mode)

    def write(
        self, config: RecordConfig, reading: Reading, training: TrainingSet, metrics: dict[str, float],
        trained: TrainedNetwork,
    ) -> Record:  # fmt: skip
        """The ``ok`` record of one trained network, written to the store."""
        record = Record(
            config.with_fields(compile=trained.compile).to_dict(),
            "ok",
            role=reading.role,
            label_parts=reading.label_parts,
            metrics=metrics,
            storage=training.storage,
            budget=training.budget,
            learned_lr=training.lr,
            wall_time_s={"distill": training.distill_wall_s, "evaluate": trained.seconds},
            buffer=training.buffer_key,
            runtime=self.runtime(),
            command=self.options.command,
            soft_labels=soft_label_info(training),
        )
        self.store.put(record)
        return record

    def write_failure(self, config: RecordConfig, reading: Reading, outcome) -> Record:
        """The one record of a cell whose buffer failed or does not fit (a BufferOutcome)."""
        record = Record(
            config.to_dict(),
            outcome.status,
            role=reading.role,
            label_parts=reading.label_parts,
            storage=outcome.storage,
            budget=outcome.budget.floats if outcome.budget else None,
            error=outcome.error,
            numbers=outcome.numbers,
            buffer=outcome.key,
        )
        self.store.put(record)
        return record

    def write_error(
        self, config: RecordConfig, reading: Reading, training: TrainingSet, error: Exception
    ) -> Record:
        """The ``failed`` record of a network whose training or testing raised (decision 10)."""
        record = Record(
            config.to_dict(),
            "failed",
            role=reading.role,
            label_parts=reading.label_parts,
            storage=training.storage,
            budget=training.budget,
            error=f"{type(error).__name__}: {error}",
            numbers={"traceback": traceback.format_exc(limit=8)},
            buffer=training.buffer_key,
            command=self.options.command,
        )
        self.store.put(record)
        return record

    def pending(self, configs: list[RecordConfig]) -> list[RecordConfig]:
        """Configs still to evaluate. A network whose first repeat failed or does not fit is settled
        by that one record (unless --retry-failed / --force)."""
        pending, settled = [], set()
        for config in configs:
            record = self.store.get(config.suite, record_key(config))
            if self.options.force or record is None:
                pending.append(config)
            elif record.status == "ok":
                continue
            elif record.status == "failed" and self.options.retry_failed:
                pending.append(config)
            else:
                settled.add(config.network)
        return [c for c in pending if c.network not in settled]
