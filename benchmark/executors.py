"""Executors run a suite's cells: ``local`` (in this process, one after another) and ``ray`` (each
cell a Ray task; the driver alone writes the result store, so no shared filesystem is needed)."""

from __future__ import annotations

import dataclasses
import logging
import sys
import tempfile
import time
import traceback
from pathlib import Path, PurePosixPath
from typing import Any

from benchmark.progress import progress
from benchmark.suites.base import Suite

# What a cell's task sends back: files under these folders of its output directory.
RETURNED_FOLDERS = ("records", "buffers")
RAY_MISSING = "the ray executor needs ray, which is not installed: pip install 'distill-benchmark[ray]'"


LOG = logging.getLogger("benchmark")


class LocalExecutor:
    """Run cells here, in order; each cell writes its records as they finish (one log line each)."""

    def run(self, suite: Suite, cells: list) -> None:
        bar = progress(cells, desc=f"{suite.name} cells", enabled=suite.options.show_progress, leave=True)
        for number, cell in enumerate(bar, start=1):
            start = time.perf_counter()
            suite.run_cell(cell)
            LOG.info(
                "[%d/%d] %s %s: done in %.0f s", number, len(cells), suite.name, suite.describe_cell(cell),
                time.perf_counter() - start,
            )  # fmt: skip


class RayExecutor:
    """Each cell is a Ray task (``--cpus-per-cell``, ``--gpus-per-cell``) run in a fresh temporary
    output folder holding a copy of the suite's records (so finished work is skipped); the task
    returns the records and buffers it wrote and the driver writes them into its store atomically.
    A cell that raises becomes one ``failed`` record; the other cells go on."""

    def run(self, suite: Suite, cells: list) -> None:
        try:
            import ray
        except ImportError as error:
            from benchmark.errors import UserInputError

            raise UserInputError(RAY_MISSING) from error
        options = suite.options
        cpus = int(options.cpus_per_cell)
        gpus = float(options.gpus_per_cell)
        started = _start_ray(ray, options.ray_address, cpus, gpus)
        try:
            task = ray.remote(run_cell_in_worker).options(num_cpus=cpus, num_gpus=gpus)
            existing = ray.put(suite_records(suite))
            worker_options = dataclasses.replace(options, show_progress=False)
            plugins = ray.put(plugin_sources(options.plugins or []))
            pending = {task.remote(worker_options, cell, existing, cpus, plugins): cell for cell in cells}
            bar = progress(
                total=len(pending),
                desc=f"{suite.name} cells (ray)",
                enabled=options.show_progress,
                leave=True,
            )
            while pending:
                done, _ = ray.wait(list(pending), num_returns=1)
                cell = pending.pop(done[0])
                try:
                    result = ray.get(done[0])
                except Exception as error:  # the task itself died (worker lost, out of memory, ...)
                    result = {"files": {}, "error": f"{type(error).__name__}: {error}", "traceback": ""}
                write_cell_result(suite, cell, result)
                bar.update(1)
                status = "done" if result["error"] is None else f"failed ({result['error']})"
                LOG.info("[%d/%d] %s %s: %s", len(cells) - len(pending), len(cells), suite.name,
                         suite.describe_cell(cell), status)  # fmt: skip
            bar.close()
        finally:
            if started:
                ray.shutdown()


def _start_ray(ray, address: str | None, cpus: int, gpus: float) -> bool:
    """Connect to ``address`` or start a local cluster; True when this call started Ray."""
    from benchmark.errors import UserInputError

    if ray.is_initialized():
        return False
    common = {"include_dashboard": False, "log_to_driver": False, "ignore_reinit_error": True}
    if address:
        ray.init(address=address, **common)
        return True
    import os

    ray.init(num_cpus=max(os.cpu_count() or 1, cpus), **common)
    available = ray.cluster_resources()
    if gpus > available.get("GPU", 0):
        ray.shutdown()
        raise UserInputError(
            f"--gpus-per-cell {gpus:g} asks for more GPUs than this machine's local Ray cluster has "
            f"({available.get('GPU', 0):g}); lower it or give --address of a cluster with GPUs"
        )
    return True


def suite_records(suite: Suite) -> dict[str, bytes]:
    """The suite's existing records in the driver's store, as {path relative to the store: bytes}."""
    root = suite.engine.store.root
    folder = root / "records" / suite.name
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(folder.glob("*.json"))}


def plugin_sources(paths: list[str]) -> list[tuple[str, str, str]]:
    """(name, source, origin) of each --plugin file, read on the driver: workers need no shared disk."""
    return [(Path(p).stem, Path(p).read_text(), str(p)) for p in paths]


def run_cell_in_worker(
    options, cell, existing: dict[str, bytes], threads: int, plugins: list[tuple[str, str, str]] = ()
) -> dict[str, Any]:
    """A Ray task: run one cell in a fresh temporary output folder seeded with ``existing`` records;
    return every file it created or changed under records/ and buffers/, and the error if it raised."""
    import torch

    from benchmark.engine import Engine
    from benchmark.plugins import load_plugin_source
    from benchmark.profiles import load_profile
    from benchmark.registries import SUITES

    torch.set_num_threads(max(1, threads))
    for name, source, origin in plugins:  # the driver's --plugin files, in the worker's process
        if f"distill_benchmark_plugin_{name}" not in sys.modules:  # a reused worker has it already
            load_plugin_source(name, source, origin)
    with tempfile.TemporaryDirectory(prefix="distill-cell-") as tmp:
        root = Path(tmp)
        for relative, data in existing.items():
            path = root / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
        error = tb = None
        try:
            local = dataclasses.replace(options, output_dir=root, executor="local")
            profile = load_profile(local.profile)
            suite = SUITES.get(local.suite)(local, profile, Engine(local, profile))
            suite.run_cell(cell)
        except Exception as exc:  # recorded by the driver as a failed cell; the other cells go on
            error, tb = f"{type(exc).__name__}: {exc}", traceback.format_exc(limit=8)
        files = {}
        for folder in RETURNED_FOLDERS:
            for path in sorted((root / folder).rglob("*")):
                if not path.is_file() or path.name.startswith("."):
                    continue
                relative = path.relative_to(root).as_posix()
                data = path.read_bytes()
                if existing.get(relative) != data:
                    files[relative] = data
        return {"files": files, "error": error, "traceback": tb}


def write_cell_result(suite: Suite, cell: Any, result: dict[str, Any]) -> None:
    """The driver's side: write a task's files atomically into the store; a cell that raised gets one
    ``failed`` record (config = the cell's fields, suite and profile), removed again once it succeeds."""
    from benchmark.atomic import atomic_write_bytes
    from benchmark.results.record import Record, record_key

    store = suite.engine.store
    for relative, data in result["files"].items():
        parts = PurePosixPath(relative).parts
        if (
            not parts
            or parts[0] not in RETURNED_FOLDERS
            or ".." in parts
            or PurePosixPath(relative).is_absolute()
        ):
            raise ValueError(f"a cell's task returned a file outside records/ and buffers/: {relative!r}")
        atomic_write_bytes(store.root.joinpath(*parts), data)
    config = cell_config(suite, cell)
    if result["error"] is None:
        store.record_path(suite.name, record_key(config)).unlink(missing_ok=True)
        return
    numbers = {"traceback": result["traceback"]} if result.get("traceback") else None
    store.put(Record(config, "failed", error=result["error"], numbers=numbers or {}))


def cell_config(suite: Suite, cell: Any) -> dict[str, Any]:
    """The config of a cell's own failure record: its fields plus the suite and profile names."""
    fields = dataclasses.asdict(cell) if dataclasses.is_dataclass(cell) else {"cell": str(cell)}
    return {"suite": suite.name, "profile": suite.profile.name} | fields
