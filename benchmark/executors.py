"""Executors run a suite's cells: ``local`` (on this machine: in this process one after another, or
in worker processes that share the cores, ``--workers``) and ``ray`` (each cell a Ray task; the
driver alone writes the result store, so no shared filesystem is needed)."""

from __future__ import annotations

import dataclasses
import logging
import os
import pickle
import resource
import signal
import sys
import tempfile
import time
import traceback
from collections import deque
from multiprocessing import connection, get_context
from pathlib import Path, PurePosixPath
from typing import Any

from benchmark.progress import progress
from benchmark.suites.base import Suite

# What a cell's task sends back: files under these folders of its output directory.
RETURNED_FOLDERS = ("records", "buffers")
RAY_MISSING = "the ray executor needs ray, which is not installed: pip install 'distill-benchmark[ray]'"
PR_SET_PDEATHSIG = 1  # Linux prctl option
STOP_GRACE_S = 30  # how long stopped workers may take to unwind before they are killed


LOG = logging.getLogger("benchmark")


class LocalExecutor:
    """Run cells on this machine, each writing its records as it finishes (one log line each): in this
    process one after another (``--workers 1``, or one cell), or in worker processes that split the
    cores between them (:func:`run_in_workers`)."""

    def run(self, suite: Suite, cells: list) -> None:
        workers = worker_count(suite.options.execution.workers, str(suite.engine.device), len(cells))
        groups = cell_groups(suite, cells) if workers > 1 else []
        if min(workers, len(groups)) > 1:
            run_in_workers(suite, cells, groups, min(workers, len(groups)))
            return
        shown = suite.options.engine.show_progress
        bar = progress(cells, desc=f"{suite.name} cells", enabled=shown, leave=True)
        for number, cell in enumerate(bar, start=1):
            start = time.perf_counter()
            suite.run_cell(cell)
            log_cell(suite, cell, number, len(cells), time.perf_counter() - start)


def log_cell(suite: Suite, cell: Any, number: int, total: int, seconds: float) -> None:
    LOG.info("[%d/%d] %s %s: done in %.0f s", number, total, suite.name, suite.describe_cell(cell), seconds)


def available_cores() -> int:
    """The cores this process may run on (its CPU affinity where the system tells it)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def worker_count(asked: int, device: str, cells: int) -> int:
    """Worker processes for ``cells``: ``asked`` (0: auto, one per core on a CPU device; one on an
    accelerator, which the cells would share), never more than the cells."""
    if asked == 0:
        asked = available_cores() if device == "cpu" else 1
    return max(1, min(asked, cells))


def buffer_keys(suite: Suite, cell: Any) -> set[str]:
    """The keys of the buffers ``cell`` uses (its plan's); a cell of a suite that cannot plan it here
    gets one shared placeholder (its cells then run in one group)."""
    try:
        return suite.plan(cell).buffer_keys()
    except Exception:  # noqa: BLE001 - a suite of its own kind: run its cells in order
        return {"?"}


def cell_groups(suite: Suite, cells: list) -> list[list[int]]:
    """Cells that share a buffer (one resolved spec named twice, continual steps with the same classes)
    form one group, run in order by one worker: one process fits the buffer, the next loads it, as a
    serial run does. Groups are ordered by their first cell. Loading each cell's data here also
    fills the shared data caches (downloads, ZCA) before any worker starts."""
    root = list(range(len(cells)))

    def find(i: int) -> int:
        while root[i] != i:
            i = root[i]
        return i

    owner: dict[str, int] = {}
    for i, cell in enumerate(cells):
        for key in buffer_keys(suite, cell):
            if key in owner:
                root[find(i)] = find(owner[key])
            else:
                owner[key] = i
    groups: dict[int, list[int]] = {}
    for i in range(len(cells)):
        groups.setdefault(find(i), []).append(i)
    return sorted(groups.values())


class WorkerTraceback(Exception):
    """The traceback of an exception raised in a worker process (the cause of the one re-raised)."""

    def __str__(self) -> str:
        return self.args[0]


@dataclasses.dataclass
class Worker:
    process: Any
    conn: Any
    queue: deque = dataclasses.field(default_factory=deque)  # cell numbers of its group still to run
    cell: int | None = None  # the cell it runs now
    started: float = 0.0
    peak_kib: int | None = None  # its peak resident memory, sent when it stops


def run_in_workers(suite: Suite, cells: list, groups: list[list[int]], workers: int) -> None:
    """Run the ``groups`` of cells (:func:`cell_groups`) in ``workers`` fresh (spawned) processes, each
    with cores ÷ workers torch threads, which its records name. Each worker builds
    the suite once and writes its cells' records and buffers itself: no two workers share a record or
    a buffer, and caches that cells of different groups share are filled under a lock per entry
    (:func:`benchmark.cache.cache_lock`). A cell that raises stops the run as in a serial run; Ctrl-C
    stops every worker (each unwinds, so no temporary file is left) and finished records are kept."""
    threads = max(1, available_cores() // workers)
    LOG.info("%d cells in %d groups on %d worker processes × %d torch threads", len(cells), len(groups),
             workers, threads)  # fmt: skip
    options = suite.options.replace(show_progress=False, workers=1)
    pool = start_workers(options, threads, plugin_sources(options.execution.plugins or []), workers)
    pending = deque(deque(group) for group in groups)
    bar = progress(total=len(cells), desc=f"{suite.name} cells ({workers} workers)",
                   enabled=suite.options.engine.show_progress, leave=True)  # fmt: skip
    finished = 0
    try:
        running = list(pool)
        while running:
            ready = connection.wait([w.conn for w in running] + [w.process.sentinel for w in running])
            for worker in [w for w in running if w.conn in ready or w.process.sentinel in ready]:
                message = _receive(worker)
                if message is None:  # the process ended without saying so (killed, out of memory)
                    raise RuntimeError(_lost(suite, cells, worker))
                kind, *body = message
                if kind == "log":
                    LOG.handle(body[0])
                    continue
                if kind == "error":
                    exc, text = body
                    raise exc from WorkerTraceback(text)
                if kind == "exit":
                    worker.peak_kib = body[0]
                    running.remove(worker)
                    continue
                if kind == "done":
                    finished += 1
                    log_cell(
                        suite, cells[worker.cell], finished, len(cells), time.perf_counter() - worker.started
                    )
                    bar.update(1)
                if not worker.queue and pending:
                    worker.queue = pending.popleft()
                worker.cell = worker.queue.popleft() if worker.queue else None
                worker.started = time.perf_counter()
                worker.conn.send(None if worker.cell is None else cells[worker.cell])
        bar.close()
    finally:
        _stop(pool)
    peaks = [w.peak_kib or 0 for w in pool]
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    LOG.info("peak memory: this process %.0f MiB, workers %s MiB; together at most %.0f MiB",
             own / 1024, " + ".join(f"{p / 1024:.0f}" for p in peaks), (own + sum(peaks)) / 1024)  # fmt: skip


def start_workers(options, threads: int, plugins: list[tuple[str, str, str]], count: int) -> list[Worker]:
    """``count`` spawned worker processes; SIGINT is ignored while they start, so they inherit that
    and Ctrl-C reaches the parent alone, which stops them (:func:`_stop`)."""
    context = get_context("spawn")
    pool = []
    interrupt = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        for _ in range(count):
            mine, theirs = context.Pipe()
            arguments = (theirs, options, threads, plugins, LOG.getEffectiveLevel(), os.getpid())
            process = context.Process(target=worker_main, args=arguments, daemon=True)
            process.start()
            theirs.close()
            pool.append(Worker(process, mine))
    finally:
        signal.signal(signal.SIGINT, interrupt)
    return pool


def _receive(worker: Worker):
    """The worker's next message, or None when its process has ended and nothing is left to read."""
    try:
        return worker.conn.recv() if worker.conn.poll() else None
    except (EOFError, OSError):
        return None


def _lost(suite: Suite, cells: list, worker: Worker) -> str:
    doing = f" while running {suite.describe_cell(cells[worker.cell])}" if worker.cell is not None else ""
    return f"a worker process stopped (exit code {worker.process.exitcode}){doing}; finished cells are kept"


def _stop(pool: list[Worker]) -> None:
    """Let workers that said ``exit`` end on their own (their interpreter's exit handlers, such as
    torch.compile's, still run), ask each other live worker to stop (SIGTERM: it raises
    KeyboardInterrupt once and unwinds), wait for them, and kill those that do not end within
    :data:`STOP_GRACE_S`."""
    deadline = time.monotonic() + STOP_GRACE_S
    for worker in pool:
        if worker.peak_kib is not None:
            worker.process.join(max(0.0, deadline - time.monotonic()))
    for worker in pool:
        if worker.process.is_alive():
            worker.process.terminate()
    for worker in pool:
        worker.process.join(max(0.0, deadline - time.monotonic()))
        if worker.process.is_alive():
            worker.process.kill()
            worker.process.join()
        worker.conn.close()


class _Forward(logging.Handler):
    """A worker's log records, sent to the parent, which writes them where its own go."""

    def __init__(self, conn):
        super().__init__()
        self.conn = conn

    def emit(self, record: logging.LogRecord) -> None:
        record.msg, record.args, record.exc_info, record.exc_text = record.getMessage(), None, None, None
        self.conn.send(("log", record))


def _die_with_parent(parent: int) -> None:
    """Linux: SIGTERM this worker when its parent dies (a killed run leaves no orphan computing on)."""
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    except (OSError, AttributeError):  # not Linux: an orphan stops at its next cell (EOF)
        return
    if os.getppid() != parent:  # it died before the request
        os.kill(os.getpid(), signal.SIGTERM)


def _unwind(signum, frame) -> None:
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    raise KeyboardInterrupt


def worker_main(
    conn, options, threads: int, plugins: list[tuple[str, str, str]], level: int, parent: int
) -> None:
    """A worker process: build the suite once, then run each cell the parent sends (None: stop),
    answering ``("done",)`` or ``("error", exception, traceback)``; at the end ``("exit", peak KiB)``.
    SIGINT is ignored (inherited); SIGTERM interrupts the cell, which unwinds as from Ctrl-C."""
    from benchmark.cli import show_warnings_in_one_line

    signal.signal(signal.SIGTERM, _unwind)
    show_warnings_in_one_line()
    try:
        _die_with_parent(parent)
        logger = logging.getLogger("benchmark")
        logger.handlers[:] = [_Forward(conn)]
        logger.setLevel(level)
        logger.propagate = False
        import torch

        torch.set_num_threads(threads)
        try:
            suite = build_suite(options, plugins)
        except Exception as exc:  # noqa: BLE001 - told to the parent, which stops the run
            _send_error(conn, exc)
            return
        conn.send(("ready",))
        while (cell := conn.recv()) is not None:
            try:
                suite.run_cell(cell)
            except Exception as exc:  # noqa: BLE001 - as a serial run, the run stops on it
                _send_error(conn, exc)
                return
            conn.send(("done",))
        signal.signal(signal.SIGTERM, signal.SIG_DFL)  # done: a stop now ends it quietly, no unwinding
        conn.send(("exit", resource.getrusage(resource.RUSAGE_SELF).ru_maxrss))
    except (KeyboardInterrupt, EOFError):  # stopped by the parent, or the parent is gone
        return


def _send_error(conn, exc: Exception) -> None:
    text = traceback.format_exc()
    try:
        pickle.loads(pickle.dumps(exc))
    except Exception:  # noqa: BLE001 - an exception that cannot travel goes as its text
        exc = RuntimeError(f"{type(exc).__name__}: {exc}")
    conn.send(("error", exc, text))


def build_suite(options, plugins: list[tuple[str, str, str]] = ()) -> Suite:
    """The suite ``options`` name, built in a worker process: the driver's --plugin files loaded from
    their source first (a worker shares no disk with the driver where it is a Ray task)."""
    from benchmark.engine import Engine
    from benchmark.plugins import load_plugin_source
    from benchmark.profiles import load_profile
    from benchmark.registries import SUITES

    for name, source, origin in plugins:
        if f"distill_benchmark_plugin_{name}" not in sys.modules:  # a reused worker has it already
            load_plugin_source(name, source, origin)
    profile = load_profile(options.selection.profile)
    return SUITES.get(options.selection.suite)(options, profile, Engine(options.engine, profile))


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
        execution = options.execution
        cpus = int(execution.cpus_per_cell)
        gpus = float(execution.gpus_per_cell)
        started = _start_ray(ray, execution.ray_address, cpus, gpus)
        try:
            task = ray.remote(run_cell_in_worker).options(num_cpus=cpus, num_gpus=gpus)
            existing = ray.put(suite_records(suite))
            worker_options = options.replace(show_progress=False)
            plugins = ray.put(plugin_sources(execution.plugins or []))
            pending = {task.remote(worker_options, cell, existing, cpus, plugins): cell for cell in cells}
            bar = progress(
                total=len(pending),
                desc=f"{suite.name} cells (ray)",
                enabled=options.engine.show_progress,
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

    torch.set_num_threads(max(1, threads))
    with tempfile.TemporaryDirectory(prefix="distill-cell-") as tmp:
        root = Path(tmp)
        for relative, data in existing.items():
            path = root / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
        error = tb = None
        try:
            build_suite(options.replace(output_dir=root, executor="local"), plugins).run_cell(
                cell
            )
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
