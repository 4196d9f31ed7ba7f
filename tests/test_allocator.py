"""Kept freed memory: a large tensor comes from the heap and stays there once freed (glibc)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from benchmark.allocator import _mallopt

# In a fresh process (the settings are process-wide): a 48 MiB tensor is above glibc's largest
# dynamic mmap threshold (32 MiB), so glibc maps and unmaps it; once the engine exists it must come
# from the heap and its pages stay there, free, after it is deleted.
PROBE = """
import ctypes, tempfile
from pathlib import Path
import torch
from benchmark.engine import Engine
from benchmark.options import EngineOptions
from benchmark.profiles import load_profile

class MallInfo2(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in (
        "arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks", "fordblks",
        "keepcost")]

libc = ctypes.CDLL("libc.so.6")
libc.mallinfo2.restype = MallInfo2
SIZE = 48 << 20

def mapped_while_alive():
    before = libc.mallinfo2().hblkhd
    tensor = torch.ones(SIZE // 4)
    grown = libc.mallinfo2().hblkhd - before
    del tensor
    return grown

print(mapped_while_alive() >= SIZE)
Engine(EngineOptions(output_dir=Path(tempfile.mkdtemp()), device="cpu"), load_profile("quick"))
print(mapped_while_alive() == 0, libc.mallinfo2().fordblks >= SIZE)
"""


def probe(**environment: str) -> list[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MALLOC_")} | environment
    done = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, check=True, env=env)
    return done.stdout.split()


@pytest.mark.skipif(_mallopt() is None, reason="glibc's mallopt is needed")
def test_engine_keeps_freed_tensor_memory_in_the_heap():
    mapped_by_default, heap_with_engine, kept_after_free = probe()
    assert mapped_by_default == "True"  # the probe sees glibc's own behaviour first
    assert heap_with_engine == "True"
    assert kept_after_free == "True"


@pytest.mark.skipif(_mallopt() is None, reason="glibc's mallopt is needed")
def test_users_own_glibc_settings_are_kept():
    mapped_by_default, heap_with_engine, _ = probe(MALLOC_TRIM_THRESHOLD_="131072")
    assert mapped_by_default == "True"
    assert heap_with_engine == "False"  # the engine left the user's malloc settings alone
