import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def cli(*args, check=True, **kwargs):
    env = dict(os.environ, BENCHMARK_PROGRESS="0")
    return subprocess.run(
        [sys.executable, "-m", "benchmark", *args], cwd=ROOT, env=env, capture_output=True, text=True,
        check=check, **kwargs,
    )  # fmt: skip


def records(folder):
    return {p.name: json.loads(p.read_text()) for p in sorted(Path(folder).glob("records/*/*.json"))}


def test_help_is_fast():
    start = time.perf_counter()
    cli("--help")
    assert time.perf_counter() - start < 2.0


def test_list_names_every_kind():
    out = cli("list").stdout
    for word in ("strategies:", "random", "dm", "datasets:", "fashion_mnist", "networks:", "ConvNet",
                 "suites:", "standard", "profiles:", "quick", "paper"):  # fmt: skip
        assert word in out


def test_run_writes_records_prints_table_and_a_rerun_does_no_work(tmp_path):
    out = cli("run", "--profile", "smoke", "--strategies", "random", "--output-dir", str(tmp_path)).stdout
    assert "random" in out and "±" in out
    assert "± is the std (ddof 0) over a cell's 2 evaluation networks: distillation seeds × networks × " \
        "repeats (1 seed a cell)" in out
    first = records(tmp_path)
    assert len(first) == 4  # ipc 1, 2 × 2 repeats
    assert {r["status"] for r in first.values()} == {"ok"}
    record = next(iter(first.values()))
    assert record["storage"] <= record["budget"]
    assert "storage / budget" in out  # the printed table shows each buffer's storage
    assert all(f"{r['storage']:,.0f} / {r['budget']:,.0f}" in out for r in first.values())
    assert record["config"]["profile"] == "smoke"
    mtimes = {p: p.stat().st_mtime_ns for p in tmp_path.rglob("*") if p.is_file()}
    cli("run", "--profile", "smoke", "--strategies", "random", "--output-dir", str(tmp_path))
    assert {p: p.stat().st_mtime_ns for p in tmp_path.rglob("*") if p.is_file()} == mtimes
    csv = cli("show", "--format", "csv", "--output-dir", str(tmp_path)).stdout
    assert csv.splitlines()[0].startswith("key,dataset,preprocessing,suite,profile,spec,strategy")
    assert len(csv.splitlines()) == 5


def test_bad_input_is_one_clear_error(tmp_path, capsys):
    from benchmark.cli import main

    cases = {
        ("--strategies", "nope"): "Unknown strategy 'nope'. Available:",
        ("--dataset", "nope"): "Unknown dataset 'nope'. Available:",
        ("--suite", "nope"): "Unknown suite 'nope'. Available:",
        ("--profile", "nope"): "Unknown profile 'nope'. Available:",
        ("--executor", "nope"): "Unknown executor 'nope'. Available:",
        ("--networks", "nope"): "Unknown network 'nope'. Available:",
        ("--ipc", "0"): "--ipc 0 is out of range",
        ("--strategies", "dm:k"): "malformed strategy spec 'dm:k'",
        ("--strategies", "dm:nope=1"): "does not accept nope; accepted keys:",
        ("--device", "tpu"): "unknown device 'tpu'",
    }
    for args, message in cases.items():
        code = main(["run", "--profile", "smoke", "--output-dir", str(tmp_path / "out"), *args])
        error = capsys.readouterr().err
        assert code == 2 and message in error, (args, error)
        assert error.count("\n") == 1, error  # one line, no traceback
    blocker = tmp_path / "file"
    blocker.write_text("x")
    assert main(["run", "--profile", "smoke", "--output-dir", str(blocker / "sub")]) == 2
    assert "has a regular file in its path" in capsys.readouterr().err


def test_readme_plugin_example_runs_through_plugin_flag(tmp_path):
    readme = (ROOT / "README.md").read_text()
    example = (ROOT / "examples" / "mean_groups.py").read_text()
    assert example.strip() in readme, "the README's plugin example must be examples/mean_groups.py verbatim"
    run = ["run", "--profile", "smoke", "--strategies", "mean_groups:group=2", "--ipc", "1", "--repeats", "1"]
    out = cli("--plugin", "examples/mean_groups.py", *run, "--output-dir", str(tmp_path)).stdout
    assert "mean_groups" in out
    [record] = records(tmp_path).values()
    assert record["status"] == "ok" and record["config"]["spec"] == "mean_groups:group=2"


def wait_for_records(folder, count, process, timeout=120):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and process.poll() is None:
        if len(list(Path(folder).glob("records/*/*.json"))) >= count:
            return
        time.sleep(0.05)


def test_sigkill_mid_run_loses_nothing_and_duplicates_nothing(tmp_path):
    args = ["run", "--profile", "smoke", "--strategies", "random", "--ipc", "1,2", "--repeats", "2"]
    cli(*args, "--output-dir", str(tmp_path / "clean"))
    expected = records(tmp_path / "clean")
    killed = tmp_path / "killed"
    env = dict(os.environ, BENCHMARK_PROGRESS="0")
    for count in (1, 3):  # kill once during the first buffer's evaluations, once during the second's
        process = subprocess.Popen([sys.executable, "-m", "benchmark", *args, "--output-dir", str(killed)],
                                   cwd=ROOT, env=env, start_new_session=True)  # fmt: skip
        wait_for_records(killed, count, process)
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
        for record in records(killed).values():  # whatever exists is complete
            assert record["status"] == "ok"
    cli(*args, "--output-dir", str(killed))
    got = records(killed)
    assert got.keys() == expected.keys()
    for name, record in expected.items():
        assert got[name]["metrics"] == record["metrics"]
    assert not list(killed.rglob("*.tmp"))


def test_show_formats(tmp_path):
    cli("run", "--profile", "smoke", "--ipc", "1", "--repeats", "1", "--output-dir", str(tmp_path))
    assert "accuracy" in cli("show", "--format", "json", "--output-dir", str(tmp_path)).stdout
    shown = cli("show", "--format", "table", "--output-dir", str(tmp_path)).stdout
    assert "digits · standard · smoke" in shown


def test_bf16_is_an_explicit_recorded_choice(tmp_path):
    from benchmark.cli import main

    args = ["run", "--profile", "smoke", "--strategies", "random", "--ipc", "1", "--repeats", "1",
            "--no-progress", "--output-dir", str(tmp_path)]  # fmt: skip
    assert main(args) == 0 and main([*args, "--precision", "bf16"]) == 0
    found = records(tmp_path)
    assert sorted(r["config"]["eval_recipe"]["precision"] for r in found.values()) == ["bf16", "fp32"]
    assert len(found) == 2  # two records, two keys: the choice is part of what a record is
