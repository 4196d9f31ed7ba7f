"""Shared set-up of the performance benchmarks: 2 torch threads, quiet progress, and the engine's
kept freed memory (benchmark/allocator.py), so every path is measured as a run executes it.

Run with ``make bench`` (``pytest benchmarks --benchmark-only``); plain ``pytest`` never collects
this folder (``testpaths = ["tests"]``).
"""

from __future__ import annotations

import os

import pytest
import torch

from benchmark.allocator import keep_freed_memory

os.environ.setdefault("BENCHMARK_PROGRESS", "0")
keep_freed_memory()
THREADS = int(os.environ.get("BENCH_THREADS", "2"))


@pytest.fixture(autouse=True)
def two_threads():
    """Every benchmark runs on ``BENCH_THREADS`` (default 2) intra-op threads, then restores."""
    before = torch.get_num_threads()
    torch.set_num_threads(THREADS)
    yield
    torch.set_num_threads(before)
