"""The cache-folder convention: ``<output_dir>/cache/<kind>/<key>.<suffix>``.

A key is a short hash of everything that changes the cached content (decision 13) plus the
package version and ``CACHE_VERSION`` (decision 8). An entry is checked and filled under
:func:`cache_lock`, so processes that need the same entry at once make it once.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import benchmark


def stable_hash(obj: Any, length: int = 16) -> str:
    """Hash of a JSON-serialisable object, independent of dict order."""
    text = json.dumps(obj, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:length]


def cache_key(
    kind: str, content: dict[str, Any], version: str | None = None, cache_version: int | None = None
) -> str:
    """The key of ``content``; ``version``/``cache_version`` default to this code's (a stored
    artefact's key is recomputed with the versions it was made by)."""
    return stable_hash(
        {
            "kind": kind,
            "content": content,
            "version": benchmark.__version__ if version is None else version,
            "cache_version": benchmark.CACHE_VERSION if cache_version is None else cache_version,
        }
    )


def cache_path(root: str | Path, kind: str, content: dict[str, Any], suffix: str) -> Path:
    """Where the cached artefact of ``kind`` described by ``content`` lives."""
    return Path(root) / "cache" / kind / f"{cache_key(kind, content)}.{suffix}"


@contextmanager
def cache_lock(path: str | Path) -> Iterator[None]:
    """Hold an exclusive lock on the cache entry ``path`` (a file or a folder) while checking and
    filling it: another process filling the same entry (a parallel cell, a second run on the same
    ``--output-dir``) waits, then finds it filled. The lock is the hidden file ``.<name>.lock`` beside
    the entry; the operating system releases it when its process ends, however it ends."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.parent / f".{path.name}.lock", "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
