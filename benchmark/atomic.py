"""Atomic file writes: write a temp file in the same folder, fsync, rename over the target.

A reader therefore sees the old file or the complete new one, never a half-written one; a failed
write (a full disk, a kill) leaves the old file untouched and removes its temp file.
"""

from __future__ import annotations

import json
import os
import tempfile
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
