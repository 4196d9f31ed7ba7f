"""The local executor's worker processes (``--workers``): records equal a serial run's with the same
torch threads per cell, digit for digit; cells sharing a buffer run in one group; shared caches are
filled under a lock; a raising cell stops the run; Ctrl-C stops the workers and keeps what finished;
``--workers`` is checked before any work."""

from __future__ import annotations

import json
import multiprocessing
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from safetensors import safe_open

from benchmark import executors
from benchmark.engine import Engine
from benchmark.options import RunOptions
from benchmark.profiles import load_profile
from benchmark.registries import SUITES
from benchmark.runner import run
from benchmark.suites.base import Cell

REPO = Path(__file__).resolve().parents[1]


def options(output_dir: Path, workers: int, **overrides) -> RunOptions:
    settings = dict(
        profile="smoke", suite="standard", strategies=["random", "dm", "tm"], output_dir=output_dir,
        device="cpu", show_progress=False, workers=workers,
    )  # fmt: skip
    return RunOptions(**(settings | overrides))


def records(root: Path) -> dict[str, dict]:
    return {p.stem: json.loads(p.read_text()) for p in sorted((root / "records").rglob("*.json"))}


def payload_digests(root: Path) -> dict[str, str]:
    digests = {}
    for path in sorted((root / "buffers").rglob("*.safetensors")):
        with safe_open(str(path), framework="pt") as handle:
            digests[path.name] = json.loads(handle.metadata()["manifest"])["sha256"]
    return digests


def suite_of(opts: RunOptions):
    profile = load_profile(opts.selection.profile)
    return SUITES.get(opts.selection.suite)(opts, profile, Engine(opts.engine, profile))


def test_two_workers_write_the_records_of_a_serial_run_with_one_thread(tmp_path, monkeypatch):
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # the serial run's threads per cell: the workers' (2 cores ÷ 2 workers)
    try:
        run(options(tmp_path / "serial", 1))
    finally:
        torch.set_num_threads(threads)
    monkeypatch.setattr(executors, "available_cores", lambda: 2)
    run(options(tmp_path / "parallel", 2))

    serial, parallel = records(tmp_path / "serial"), records(tmp_path / "parallel")
    assert len(serial) == 12 and set(parallel) == set(serial)  # 3 strategies × ipc 1, 2 × 2 repeats
    for key, record in serial.items():
        assert parallel[key]["status"] == record["status"] == "ok"
        assert parallel[key]["config"] == record["config"]
        assert parallel[key]["metrics"] == record["metrics"]
        assert parallel[key]["runtime"]["threads"] == record["runtime"]["threads"] == 1
    digests = payload_digests(tmp_path / "serial")
    assert len(digests) == 6 and payload_digests(tmp_path / "parallel") == digests
    # tm at ipc 1 and 2 (two groups, two workers) share one set of experts, trained once under its lock
    (experts,) = (tmp_path / "parallel" / "cache" / "experts").glob("*.experts")
    assert len(list(experts.glob("expert_*.safetensors"))) == len(list(
        next((tmp_path / "serial" / "cache" / "experts").glob("*.experts")).glob("expert_*.safetensors")
    ))  # fmt: skip
    assert not list((tmp_path / "parallel").rglob("*.tmp")) and not multiprocessing.active_children()


def test_cells_sharing_a_buffer_form_one_group(tmp_path):
    suite = suite_of(options(tmp_path, 2, strategies=["dm", "random"], ipcs=[1]))
    cells = suite.cells()
    canonical = suite.resolve(cells[0]).canonical
    assert canonical != "dm" and "iterations=3" in canonical  # dm spelled out: the same buffer and records
    again = Cell(cells[0].dataset, canonical, cells[0].ipc, cells[0].seed)
    assert executors.cell_groups(suite, [*cells, again]) == [[0, 2], [1]]
    assert executors.cell_groups(suite, cells) == [[0], [1]]


def test_worker_count():
    cores = executors.available_cores()
    assert executors.worker_count(0, "cpu", 100) == cores
    assert executors.worker_count(0, "cuda:0", 100) == 1  # one accelerator, shared: in order
    assert executors.worker_count(8, "cpu", 3) == 3
    assert executors.worker_count(1, "cpu", 3) == 1


def test_a_second_process_waits_for_a_cache_lock(tmp_path):
    from benchmark.cache import cache_lock

    entry = tmp_path / "cache" / "experts" / "key.experts"
    waiter = (
        "import sys; from benchmark.cache import cache_lock\n"
        f"with cache_lock({str(entry)!r}): sys.stdout.write('got it')\n"
    )
    with cache_lock(entry):
        child = subprocess.Popen([sys.executable, "-c", waiter], stdout=subprocess.PIPE, text=True, cwd=REPO)
        time.sleep(1.5)
        assert child.poll() is None  # still waiting
    assert child.communicate(timeout=30)[0] == "got it" and child.returncode == 0
    assert [p.name for p in entry.parent.iterdir()] == [".key.experts.lock"]


def test_a_raising_cell_stops_the_run_with_its_error(tmp_path, monkeypatch):
    from benchmark.errors import UnknownNameError

    monkeypatch.setattr(executors, "available_cores", lambda: 2)
    suite = suite_of(options(tmp_path, 2, strategies=["random"], ipcs=[1]))
    broken = Cell("no_such_dataset", "random", 1, 0)
    with pytest.raises(UnknownNameError, match="no_such_dataset") as raised:
        executors.LocalExecutor().run(suite, [*suite.cells(), broken])
    assert isinstance(raised.value.__cause__, executors.WorkerTraceback)
    assert "Traceback" in str(raised.value.__cause__)
    assert not multiprocessing.active_children()


def test_ctrl_c_stops_the_workers_and_keeps_finished_records(tmp_path):
    out = tmp_path / "out"
    command = [
        sys.executable, "-m", "benchmark", "run", "--profile", "smoke", "--strategies", "random,dm,tm",
        "--ipc", "1,2", "--repeats", "3", "--output-dir", str(out), "--workers", "2", "--no-progress",
    ]  # fmt: skip
    env = os.environ | {"OMP_NUM_THREADS": "1"}
    child = subprocess.Popen(  # SIGINT as a terminal gives it (a shell's background job ignores it)
        command, stderr=subprocess.PIPE, text=True, cwd=REPO, env=env,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )  # fmt: skip
    lines = []
    for line in child.stderr:  # interrupt once the first cell is done
        lines.append(line)
        if "done in" in line:
            break
    child.send_signal(signal.SIGINT)
    rest = child.communicate(timeout=60)[1]
    assert child.returncode == 130, "".join(lines) + rest
    assert "interrupted" in rest and "Traceback" not in rest, rest
    found = records(out)
    assert found and all(r["status"] == "ok" for r in found.values())
    assert not list(out.rglob("*.tmp"))
    assert not [p for p in out.rglob(".*") if p.is_dir()]  # no half-written folder


def test_workers_that_finished_end_on_their_own_with_their_exit_handlers(tmp_path):
    """A finished worker is not stopped in the middle of its interpreter's exit handlers (torch.compile
    registers one): no traceback, and each handler runs to its end."""
    marks = tmp_path / "exit-handlers.txt"
    plugin = tmp_path / "slow_exit.py"
    plugin.write_text(
        "import atexit, os, time\n"
        "def _mark():\n"
        "    time.sleep(1)\n"
        f"    with open({str(marks)!r}, 'a') as f:\n"
        "        f.write(str(os.getpid()) + '\\n')\n"
        "atexit.register(_mark)\n"
    )
    command = [
        sys.executable, "-m", "benchmark", "--plugin", str(plugin), "run", "--profile", "smoke",
        "--strategies", "random", "--ipc", "1,2", "--output-dir", str(tmp_path / "out"), "--workers", "2",
        "--no-progress",
    ]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, cwd=REPO, timeout=300,
                          env=os.environ | {"OMP_NUM_THREADS": "1"})  # fmt: skip
    assert done.returncode == 0 and "Traceback" not in done.stderr, done.stderr
    assert len(set(marks.read_text().split())) == 3  # this process and both workers


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--workers", "-1"], "--workers -1 is out of range"),
        (["--workers", "two"], "--workers 'two' is not a count"),
        (["--workers", "2", "--executor", "ray"], "--workers is for the local executor"),
    ],
)
def test_bad_workers_is_one_line_before_any_work(tmp_path, capsys, args, message):
    from benchmark.cli import main

    assert main(["run", "--profile", "smoke", "--output-dir", str(tmp_path / "out"), *args]) == 2
    error = capsys.readouterr().err
    assert message in error and error.count("\n") == 1, error
    assert not (tmp_path / "out").exists()
