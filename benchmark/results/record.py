"""Records (decision 7): one per trained evaluation network, keyed by its resolved config."""

from __future__ import annotations

import datetime as dt
import subprocess
from functools import cache
from pathlib import Path
from typing import Any

import benchmark
from benchmark.cache import cache_key

STATUSES = ("ok", "failed", "does_not_fit")
# Fields of a record's config, in the order tables show them.
CONFIG_FIELDS = (
    "dataset", "suite", "profile", "strategy", "strategy_name", "ipc", "network", "eval_recipe",
    "step", "steps", "class_order", "distill_seed", "repeat", "eval_seed",
)  # fmt: skip


def record_key(config: dict[str, Any]) -> str:
    """Hash of the resolved config (profile included; timing and metrics excluded)."""
    return cache_key("record", config)


@cache
def git_commit() -> str | None:
    """The commit of the code that produced a result (recorded, never keyed)."""
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=Path(__file__).resolve().parent,
            capture_output=True,
            text=True,
            timeout=5,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None if out.returncode == 0 else None


def code_identity() -> dict[str, Any]:
    return {
        "version": benchmark.__version__,
        "cache_version": benchmark.CACHE_VERSION,
        "git_commit": git_commit(),
    }


def make_record(
    config: dict[str, Any],
    status: str,
    metrics: dict[str, float] | None = None,
    storage: float | None = None,
    budget: int | None = None,
    learned_lr: float | None = None,
    wall_time_s: dict[str, float] | None = None,
    error: str | None = None,
    numbers: dict[str, Any] | None = None,
    buffer: str | None = None,
) -> dict[str, Any]:
    assert status in STATUSES, status
    return {
        "key": record_key(config),
        "config": config,
        "status": status,
        "metrics": metrics or {},
        "storage": storage,
        "budget": budget,
        "learned_lr": learned_lr,
        "wall_time_s": wall_time_s or {},
        "error": error,
        "numbers": numbers or {},
        "buffer": buffer,
        "code": code_identity(),
        "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    }
