"""Hardening (issue 13): kills at every stage, determinism, bad input, a full disk.

Complements tests/test_run_cli.py (bad names, ipc, a blocked output dir, a kill between records),
tests/test_budget_buffer.py (pickle/truncated/tampered/other-dataset buffers) and
tests/test_distill_loop.py (NaN, checkpoint resume inside one process).
"""

import errno
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import torch

from benchmark.buffer import Buffer
from benchmark.options import RunOptions
from benchmark.runner import run

ROOT = Path(__file__).resolve().parents[1]
DM = "dm:iterations=5"
SPEED = "speed:objective=dm:iterations=3:init_steps=5"
STRATEGIES = ["random", DM, SPEED]


def options(output_dir, strategies, repeats=1, **kwargs):
    return RunOptions(profile="smoke", strategies=strategies, ipcs=[1], repeats=repeats,
                      output_dir=output_dir, show_progress=False, device="cpu", **kwargs)  # fmt: skip


def record_files(folder):
    return sorted(Path(folder).glob("records/*/*.json"))


def read_records(folder):
    """Every record file, each required to be complete JSON (never a partial write)."""
    found = {}
    for path in record_files(folder):
        record = json.loads(path.read_text())
        assert {"key", "config", "status"} <= set(record), path
        assert path.stem == record["key"]
        found[path.name] = record
    return found


def buffers(folder):
    """Every buffer file, each required to load and pass its checksum."""
    return {p.name: Buffer.load(p) for p in sorted(Path(folder).glob("buffers/*/*.safetensors"))}


# ---- determinism ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def two_clean_runs(tmp_path_factory):
    """The same run twice, into separate folders; the second after disturbing global RNG state."""
    folders = []
    for i in range(2):
        folder = tmp_path_factory.mktemp(f"clean{i}")
        torch.manual_seed(1234 + i)
        run(options(folder, STRATEGIES))
        folders.append(folder)
    return folders


def test_same_seeds_on_cpu_give_identical_payloads_and_accuracies(two_clean_runs):
    first, second = two_clean_runs
    a, b = buffers(first), buffers(second)
    assert a.keys() == b.keys() and len(a) == len(STRATEGIES)
    for name in a:
        assert a[name].manifest["sha256"] == b[name].manifest["sha256"], a[name].manifest["spec"]
        for tensor in a[name].tensors:
            assert torch.equal(a[name].tensors[tensor], b[name].tensors[tensor])
    ra, rb = read_records(first), read_records(second)
    assert ra.keys() == rb.keys() and len(ra) == len(STRATEGIES)
    for name in ra:
        assert ra[name]["status"] == "ok", ra[name].get("error")
        assert ra[name]["metrics"] == rb[name]["metrics"]


# ---- crash safety at the process level ------------------------------------------------------

# Runs the CLI with one test-only hook that SIGKILLs the process at a chosen point:
#   checkpoint N  - at the N-th rename of a distillation checkpoint (checkpoints every iteration)
#   buffer        - in place of the rename of the finished buffer file (its temp file is complete)
#   record        - in place of the rename of the first record file
#   evaluate N    - 0.3 s into the N-th evaluation network's training
DRIVER = textwrap.dedent(
    """
    import functools, os, signal, sys, threading

    import benchmark.atomic as atomic
    import benchmark.engine.buffers as buffers
    import benchmark.engine.evaluation as evaluation

    point, n, argv = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
    calls = {"n": 0}

    def die():
        os.kill(os.getpid(), signal.SIGKILL)

    real_replace = os.replace

    def replace(src, dst):
        dst = str(dst)
        hit = {"checkpoint": dst.endswith(".pt"), "buffer": dst.endswith(".safetensors"),
               "record": "records" in dst and dst.endswith(".json")}.get(point, False)
        if hit:
            calls["n"] += 1
            if calls["n"] == n:
                die()
        return real_replace(src, dst)

    atomic.os.replace = replace
    buffers.FitContext = functools.partial(buffers.FitContext, checkpoint_every_s=0.0)
    real_train = evaluation.train_and_test

    def train_and_test(*args, **kwargs):
        if point == "evaluate":
            calls["n"] += 1
        if point == "evaluate" and calls["n"] == n:
            threading.Timer(0.3, die).start()
        return real_train(*args, **kwargs)

    evaluation.train_and_test = train_and_test
    from benchmark.cli import main

    sys.exit(main(argv))
    """
)


def test_sigkill_at_every_stage_then_rerun_equals_an_uninterrupted_run(two_clean_runs, tmp_path):
    reference = {n: r for n, r in read_records(two_clean_runs[0]).items() if r["config"]["spec"]
                 .startswith("dm:")}  # fmt: skip
    assert len(reference) == 1
    driver = tmp_path / "driver.py"
    driver.write_text(DRIVER)
    out = tmp_path / "killed"
    args = ["run", "--profile", "smoke", "--strategies", DM, "--ipc", "1", "--repeats", "1",
            "--device", "cpu", "--no-progress", "--output-dir", str(out)]  # fmt: skip
    env = dict(os.environ, BENCHMARK_PROGRESS="0", PYTHONPATH=str(ROOT))

    def killed_at(point, n):
        command = [sys.executable, str(driver), point, str(n), *args]
        done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True,
                              start_new_session=True, timeout=300)  # fmt: skip
        assert done.returncode == -9, (point, done.returncode, done.stderr[-2000:])
        return read_records(out), buffers(out), list(out.glob("checkpoints/*.pt"))

    # 1. during distillation, after a few checkpoints: no buffer, no record, a checkpoint to resume
    records, bufs, checkpoints = killed_at("checkpoint", 3)
    assert not records and not bufs and len(checkpoints) == 1
    # 2. while writing the buffer: the target never exists half-written; only an unread temp file
    records, bufs, checkpoints = killed_at("buffer", 1)
    assert not records and not bufs and checkpoints
    assert list(out.glob("buffers/*/.*.tmp"))
    # 3. while writing the first record: the buffer is complete, the record is not there at all
    records, bufs, checkpoints = killed_at("record", 1)
    assert not records and len(bufs) == 1 and not checkpoints
    # 4. during the evaluation network's training: the buffer is read back intact
    records, bufs, _ = killed_at("evaluate", 1)
    assert not records and len(bufs) == 1
    # 5. a plain re-run finishes the work
    subprocess.run([sys.executable, "-m", "benchmark", *args], cwd=ROOT, env=env, check=True,
                   capture_output=True, timeout=300)  # fmt: skip
    got = read_records(out)
    assert got.keys() == reference.keys()  # same keys, nothing duplicated
    for name, record in reference.items():
        assert got[name]["status"] == "ok"
        assert got[name]["metrics"] == record["metrics"]
        assert got[name]["config"] == record["config"]
    assert len(buffers(out)) == 1
    assert not list(out.glob("checkpoints/*.pt"))


# ---- a full disk ---------------------------------------------------------------------------


def test_a_full_disk_while_writing_a_record_loses_nothing_already_written(tmp_path, monkeypatch, capsys):
    import benchmark.atomic as atomic
    from benchmark.errors import BenchmarkError

    real_fsync = os.fsync
    calls = {"n": 0, "fail_at": 3}

    def fsync(fd):
        calls["n"] += 1
        if calls["n"] == calls["fail_at"]:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real_fsync(fd)

    monkeypatch.setattr(atomic.os, "fsync", fsync)
    out = tmp_path / "out"
    # writes: buffer (ipc 1), its record, buffer (ipc 2), its record: the 4th write fails
    calls["fail_at"] = 4
    run_options = RunOptions(profile="smoke", strategies=["random"], ipcs=[1, 2], repeats=1, output_dir=out,
                             show_progress=False, device="cpu")  # fmt: skip
    with pytest.raises(BenchmarkError, match="No space left on device") as raised:
        run(run_options)
    message = str(raised.value)
    assert str(out / "records") in message and "\n" not in message and "re-run" in message
    assert isinstance(raised.value, OSError)
    before = read_records(out)
    assert len(before) == 1 and {r["status"] for r in before.values()} == {"ok"}
    assert len(buffers(out)) == 2
    assert not list(out.rglob("*.tmp"))
    # through the CLI (failing at the first write, a buffer): one line, no traceback
    calls["n"], calls["fail_at"] = 0, 1
    from benchmark.cli import main

    code = main(["run", "--profile", "smoke", "--strategies", "random", "--ipc", "1", "--device", "cpu",
                 "--no-progress", "--output-dir", str(tmp_path / "cli")])  # fmt: skip
    error = capsys.readouterr().err
    last = error.strip().splitlines()[-1]  # after the run's progress lines, one line of error
    assert code == 2 and last.startswith("error: cannot write ") and "Traceback" not in error, error
    assert "No space left on device" in error and "Traceback" not in error
    # space again: the re-run completes and keeps what was written
    monkeypatch.setattr(atomic.os, "fsync", real_fsync)
    run(run_options)
    after = read_records(out)
    assert len(after) == 2 and all(after[name] == record for name, record in before.items())
    assert not list(out.rglob("*.tmp"))


# ---- bad input not covered elsewhere -------------------------------------------------------


@pytest.mark.parametrize(
    "spec,message",
    [
        ("speed:objective=nope", "Unknown objective 'nope'. Available:"),
        ("speed:k=-1", "k=-1 is too small; k must be an integer >= 1"),
        ("speed:k", "malformed strategy spec 'speed:k'"),
    ],
)
def test_malformed_speed_specs_are_one_line_errors(spec, message, tmp_path, capsys):
    from benchmark.cli import main

    code = main(["run", "--profile", "smoke", "--strategies", spec, "--output-dir", str(tmp_path)])
    error = capsys.readouterr().err
    assert code == 2 and message in error and error.count("\n") == 1, error
    assert "Traceback" not in error


def test_a_speed_configuration_the_budget_cannot_hold_is_recorded_does_not_fit(tmp_path):
    run(options(tmp_path, ["speed:objective=dm:dim=256"]))
    (record,) = read_records(tmp_path).values()
    assert record["status"] == "does_not_fit"
    assert "lower dim/tokens/k or raise ipc" in record["error"]
    numbers = record["numbers"]
    assert numbers["budget"] == 640 and numbers["saet"] + numbers["freenet"] > numbers["budget"]


def test_a_patch_not_dividing_the_image_fails_the_cell_naming_the_valid_patches(tmp_path):
    run(options(tmp_path, ["speed:objective=dm:patch=3", "random"]))
    by_strategy = {r["config"]["strategy"]: r for r in read_records(tmp_path).values()}
    failed = by_strategy["speed"]
    assert failed["status"] == "failed"
    assert "patch=3 does not divide the image side 8×8; choose one of 1, 2, 4, 8" in failed["error"]
    assert by_strategy["random"]["status"] == "ok"  # the run went on
