"""Atomic file writes: write a temp file in the same folder, fsync, rename over the target.

A reader therefore sees the old file or the complete new one, never a half-written one; a failed
write (a full disk, a kill) leaves the old file untouched and removes its temp file. A folder of
files (an export) is written the same way: into a hidden temp sibling, renamed into place when
complete (:func:`atomic_folder`).
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from benchmark.errors import BenchmarkError


def _current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


# Files get the mode a plain open() would give them (rw for whom the umask allows), not mkstemp's
# 0600: a results folder shared by a group, or a leaderboard served by a web server, stays readable.
FILE_MODE = 0o666 & ~_current_umask()


class WriteFailedError(BenchmarkError, OSError):
    """A file could not be written (a full disk, a read-only folder); the old file is kept."""

    def __str__(self) -> str:
        return str(self.args[0])


def atomic_write_bytes(path: str | Path, data: bytes) -> None:
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as error:
        raise WriteFailedError(
            f"cannot write {str(path)!r}: {error.strerror or error}; choose a writable --output-dir"
        ) from error
    try:
        os.fchmod(fd, FILE_MODE)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException as error:
        Path(tmp).unlink(missing_ok=True)
        if isinstance(error, OSError) and not isinstance(error, BenchmarkError):
            reason = error.strerror or str(error)
            raise WriteFailedError(
                f"cannot write {str(path)!r}: {reason}; free space (or choose another --output-dir) "
                "and re-run: what was written before is kept"
            ) from error
        raise


def atomic_write_text(path: str | Path, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_json(path: str | Path, obj: Any) -> None:
    atomic_write_text(path, json.dumps(obj, indent=2, sort_keys=True, default=str) + "\n")


@contextmanager
def atomic_folder(target: str | Path) -> Iterator[Path]:
    """Yield a hidden temp folder beside ``target`` to write into; when the block ends, the complete
    folder replaces ``target`` (an earlier folder there is removed only then). If the block fails or
    is interrupted, the temp folder is removed and ``target`` is as it was; a kill leaves only the
    hidden ``.<name>.partial-*`` folder, which nothing reads."""
    target = Path(target)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        stage = Path(tempfile.mkdtemp(prefix=f".{target.name}.partial-", dir=target.parent))
    except OSError as error:
        raise WriteFailedError(
            f"cannot write {str(target)!r}: {error.strerror or error}; choose a writable --output-dir"
        ) from error
    old = None
    try:
        os.chmod(stage, 0o777 & ~_current_umask())
        yield stage
        for base, _, files in os.walk(stage):
            for name in files:
                _fsync(Path(base, name))
        if target.exists() or target.is_symlink():
            old = Path(tempfile.mkdtemp(prefix=f".{target.name}.old-", dir=target.parent))
            os.replace(target, old)  # onto the empty folder mkdtemp made
        os.replace(stage, target)
    except BaseException as error:
        if old is not None and not target.exists():
            os.replace(old, target)
            old = None
        shutil.rmtree(stage, ignore_errors=True)
        if isinstance(error, OSError) and not isinstance(error, BenchmarkError):
            raise WriteFailedError(
                f"cannot write {str(target)!r}: {error.strerror or error}; free space (or choose another "
                "--output-dir) and re-run: nothing was left half-written"
            ) from error
        raise
    finally:
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
