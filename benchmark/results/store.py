"""The result store: records as JSON files written atomically, and buffers, under one folder.

``<root>/records/<suite>/<key>.json`` and ``<root>/buffers/<strategy>/<key>.safetensors``.
A re-run skips ``ok`` and ``does_not_fit`` records; ``failed`` ones only with ``retry_failed``.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Any

from benchmark.atomic import atomic_write_json
from benchmark.errors import UserInputError


def prepare_output_dir(root: str | Path) -> Path:
    """Create the output folder or fail with one clear sentence (e.g. a parent is a regular file)."""
    root = Path(root)
    try:
        root.mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError) as error:
        raise UserInputError(
            f"output directory {str(root)!r} cannot be created: a part of its path is a regular "
            "file; choose another --output-dir"
        ) from error
    except OSError as error:
        raise UserInputError(
            f"output directory {str(root)!r} cannot be created ({error.strerror}); "
            "choose another --output-dir"
        ) from error
    if not root.is_dir():
        raise UserInputError(f"output directory {str(root)!r} is not a folder; choose another --output-dir")
    return root


class ResultStore:
    def __init__(self, root: str | Path):
        self.root = prepare_output_dir(root)

    # ---- records -------------------------------------------------------------------------
    def record_path(self, suite: str, key: str) -> Path:
        return self.root / "records" / suite / f"{key}.json"

    def get(self, suite: str, key: str) -> dict[str, Any] | None:
        path = self.record_path(suite, key)
        if not path.is_file():
            return None
        return _read_record(path)

    def put(self, record: dict[str, Any]) -> None:
        atomic_write_json(self.record_path(record["config"]["suite"], record["key"]), record)

    def is_done(self, suite: str, key: str, retry_failed: bool = False, force: bool = False) -> bool:
        """Whether a record with this key needs no more work."""
        if force:
            return False
        record = self.get(suite, key)
        if record is None:
            return False
        return record["status"] in ("ok", "does_not_fit") or not retry_failed

    def records(self, suite: str | None = None) -> list[dict[str, Any]]:
        folder = self.root / "records"
        pattern = f"{suite}/*.json" if suite else "*/*.json"
        found = (_read_record(p) for p in sorted(folder.glob(pattern)))
        return [r for r in found if r is not None]

    # ---- buffers and checkpoints ---------------------------------------------------------
    def buffer_path(self, strategy: str, key: str) -> Path:
        return self.root / "buffers" / strategy / f"{key}.safetensors"

    def checkpoint_path(self, key: str) -> Path:
        return self.root / "checkpoints" / f"{key}.pt"


def _read_record(path: Path) -> dict[str, Any] | None:
    """A record, or None (with a warning) for a file that is not a complete record."""
    try:
        record = json.loads(path.read_text())
        if isinstance(record, dict) and {"key", "config", "status"} <= set(record):
            return record
    except (ValueError, UnicodeDecodeError, OSError):
        pass
    warnings.warn(f"ignoring {path}: not a complete record", stacklevel=2)
    return None
