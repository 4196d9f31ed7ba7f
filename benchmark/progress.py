"""Progress bars for long work (tqdm), silenced with ``BENCHMARK_PROGRESS=0`` or ``enabled=False``."""

from __future__ import annotations

import os
from collections.abc import Iterable

from tqdm.auto import tqdm


def progress_enabled() -> bool:
    return os.environ.get("BENCHMARK_PROGRESS", "1") != "0"


def progress(
    iterable: Iterable | None = None,
    *,
    total: int | None = None,
    desc: str = "",
    enabled: bool = True,
    leave: bool = False,
):
    """A tqdm bar (or a silent pass-through) over ``iterable``."""
    return tqdm(
        iterable,
        total=total,
        desc=desc,
        leave=leave,
        disable=not (enabled and progress_enabled()),
        dynamic_ncols=True,
        mininterval=0.5,
    )
