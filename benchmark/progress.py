"""Progress bars for long work (tqdm), silenced with ``BENCHMARK_PROGRESS=0`` or ``enabled=False``,
and when stderr is not a terminal (a redirected log gets the run's one line per finished cell
instead of thousands of bar redraws)."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable

from tqdm.auto import tqdm


def progress_enabled() -> bool:
    return os.environ.get("BENCHMARK_PROGRESS", "1") != "0" and sys.stderr.isatty()


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
