"""The result store: the sole owner of an output folder's layout.

    <root>/records/<suite>/<key>.json            one Record per trained evaluation network
    <root>/buffers/<strategy>/<key>.safetensors  buffers, reused by every suite (decision 8)
    <root>/checkpoints/<buffer key>.pt           resumable distillation state (deleted when done)
    <root>/cache/<kind>/<key>.*                  ZCA, experts, feature networks, corruptions
    <root>/tables/, figures/, leaderboard.md|html  the report

Records are written atomically; reading skips a file that is not a complete record (with a warning),
anything that is not a regular file (a FIFO would block), and symbolically linked folders (their
records would count twice); a record reached twice (a copy) counts once, by key. Names that become
folders (a suite's) must be safe names (:mod:`benchmark.paths`), so nothing is written outside.
"""

from __future__ import annotations

import fcntl
import json
import os
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from benchmark.atomic import atomic_write_json
from benchmark.errors import BenchmarkWarning, UserInputError, first_line
from benchmark.paths import checked_name, is_safe_name
from benchmark.results.record import Record


def prepare_output_dir(root: str | Path) -> Path:
    """Check that the output folder is (or can be created as) a writable folder, one clear sentence
    if not, before any work. Nothing is created here: the first file written creates the folder, so
    a run refused for bad settings leaves no empty folder behind."""
    if str(root).strip() == "":
        raise UserInputError("--output-dir is empty; name a folder, e.g. --output-dir results")
    root = Path(root)
    existing = root
    while not existing.exists():
        if existing.parent == existing:
            break
        existing = existing.parent
    if existing.exists() and not existing.is_dir():
        what = "is a file" if existing == root else f"has a regular file in its path ({existing})"
        raise UserInputError(f"output directory {str(root)!r} {what}; choose another --output-dir")
    check_writable(existing)
    return root


def check_writable(root: Path) -> None:
    if not os.access(root, os.W_OK | os.X_OK):
        raise UserInputError(f"output directory {str(root)!r} is not writable; choose another --output-dir")


def existing_output_dir(root: str | Path) -> Path:
    """An output folder to read from; a missing one is a one-line error (nothing is created)."""
    root = Path(root)
    if not root.is_dir():
        raise UserInputError(
            f"no results folder {str(root)!r}; pass the --output-dir a run wrote its records to"
        )
    return root


RUN_LOCK = ".run.lock"


class ResultStore:
    """``ResultStore(root)``: a run's folder, created if missing. ``existing=True``: a folder a run
    wrote (a missing one is an error, nothing is created), checked writable unless ``read_only``."""

    def __init__(self, root: str | Path, existing: bool = False, read_only: bool = False):
        if existing or read_only:
            self.root = existing_output_dir(root)
            if not read_only:
                check_writable(self.root)
        else:
            self.root = prepare_output_dir(root)

    @contextmanager
    def exclusive_run(self) -> Iterator[None]:
        """Hold the folder for one ``run`` at a time: a second run into it would read the first's
        half-finished cells as final. The lock (the hidden file ``.run.lock``) is released by the
        operating system when its process ends, however it ends."""
        self.root.mkdir(parents=True, exist_ok=True)
        with open(self.root / RUN_LOCK, "a") as handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise UserInputError(
                    f"another run is writing to {self.root}; wait for it to finish or give another "
                    "--output-dir"
                ) from None
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    # ---- records -------------------------------------------------------------------------
    def record_path(self, suite: str, key: str) -> Path:
        return (
            self.root / "records" / checked_name(suite, "suite") / f"{checked_name(key, 'record key')}.json"
        )

    def get(self, suite: str, key: str) -> Record | None:
        path = self.record_path(suite, key)
        if not path.is_file():
            return None
        return read_record(path)

    def put(self, record: Record) -> None:
        atomic_write_json(self.record_path(record.suite, record.key), record.to_json())

    def records(self, suite: str | None = None) -> list[Record]:
        """Every valid record (of ``suite``), each once."""
        folder = self.root / "records"
        if suite is not None and not (is_safe_name(suite) and is_real_folder(folder / suite)):
            return []
        suites = [folder / suite] if suite is not None else sorted(_folders(folder))
        found: dict[str, Record] = {}
        for path in (p for sub in suites for p in sorted(sub.glob("*.json"))):
            record = read_record(path)
            if record is not None:
                found.setdefault(record.key, record)
        return list(found.values())

    # ---- buffers, checkpoints, caches -----------------------------------------------------
    def buffer_path(self, strategy: str, key: str) -> Path:
        return self.root / "buffers" / checked_name(strategy, "strategy") / f"{key}.safetensors"

    def checkpoint_path(self, key: str) -> Path:
        return self.root / "checkpoints" / f"{key}.pt"

    @property
    def cache_root(self) -> Path:
        """Where strategies and datasets keep their caches (``<root>/cache/<kind>/…``)."""
        return self.root

    # ---- the report -----------------------------------------------------------------------
    @property
    def tables_dir(self) -> Path:
        return self.root / "tables"

    @property
    def figures_dir(self) -> Path:
        return self.root / "figures"

    def leaderboard_path(self, suffix: str) -> Path:
        return self.root / f"leaderboard.{suffix}"


def is_real_folder(path: Path) -> bool:
    return path.is_dir() and not path.is_symlink()


def _folders(folder: Path):
    """The real sub-folders of ``folder`` (a link to a folder is not followed: counted twice)."""
    if not is_real_folder(folder):
        return []
    return [p for p in folder.iterdir() if is_real_folder(p)]


def read_record(path: Path) -> Record | None:
    """A record, or None (with one warning naming the file) for a file that is not a valid record;
    ``run`` redoes its work and writes a valid record in its place."""
    if not path.is_file():  # a FIFO or a device: reading could block forever
        if path.exists():
            warnings.warn(f"ignoring {path}: not a regular file", BenchmarkWarning, stacklevel=2)
        return None
    try:
        record = Record.from_json(json.loads(path.read_text()))
    except (ValueError, TypeError, UnicodeDecodeError, OSError) as error:
        reason = first_line(error, 200) or type(error).__name__
        warnings.warn(f"ignoring {path}: not a valid record ({reason})", BenchmarkWarning, stacklevel=2)
        return None
    if record.key != path.stem:
        warnings.warn(f"ignoring {path}: not a valid record (its key is {record.key!r})", BenchmarkWarning,
                      stacklevel=2)  # fmt: skip
        return None
    return record
