"""Keep freed memory in the process: glibc malloc settings for tensor-sized allocations.

glibc serves a request above its mmap threshold (128 KiB at start, raised to at most 32 MiB as
mapped blocks are freed) with a fresh ``mmap`` and returns it with ``munmap`` when freed, and trims
the heap's freed top above its trim threshold. A CPU training or distillation iteration allocates
and frees the same few-MiB activations every step, so each step pays page faults on fresh pages
(kernel time for zeroing, then cold caches): a DM embedding forward of 128 Fashion-MNIST images
spent about a quarter of its CPU time in the kernel. benchmarks/test_allocator.py measures both
settings on whole workloads in alternating fresh processes (figures in docs/performance.md).

``keep_freed_memory()`` serves every request below 1 GiB from the heap and never trims below
2 GiB of free top, so a step reuses the pages the previous step freed. The price is memory: freed
blocks stay resident and the heap fragments (the measured peaks are in docs/performance.md). A user
who sets glibc's own variables ``MALLOC_MMAP_THRESHOLD_`` or ``MALLOC_TRIM_THRESHOLD_`` (e.g.
``MALLOC_TRIM_THRESHOLD_=131072`` for glibc's behaviour) keeps them: then nothing is
changed. Elsewhere than glibc nothing is changed either.
"""

from __future__ import annotations

import ctypes
import os
import sys

# mallopt parameters (malloc.h)
M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3

KEPT = {M_MMAP_THRESHOLD: 1 << 30, M_TRIM_THRESHOLD: (1 << 31) - 1}
USER_SETTINGS = ("MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_")


def _mallopt():
    if not sys.platform.startswith("linux"):
        return None
    process = ctypes.CDLL(None)  # the symbols already loaded, the C library's among them
    # glibc only (musl has no mallopt thresholds)
    return process.mallopt if hasattr(process, "gnu_get_libc_version") else None


def keep_freed_memory() -> bool:
    """Serve allocations below 1 GiB from the heap and keep its freed top; True where applied."""
    mallopt = _mallopt()
    if mallopt is None or any(name in os.environ for name in USER_SETTINGS):
        return False
    return all(mallopt(parameter, value) == 1 for parameter, value in KEPT.items())
