"""The ray executor: a local Ray cluster writes the same records as a local run, records a cell that
raises as failed while the others finish, and resumes without redoing finished work."""

from __future__ import annotations

import json

import pytest
import torch

ray = pytest.importorskip("ray")

from benchmark.engine import Engine  # noqa: E402
from benchmark.options import RunOptions  # noqa: E402
from benchmark.profiles import load_profile  # noqa: E402
from benchmark.registries import EXECUTORS, SUITES  # noqa: E402
from benchmark.runner import run  # noqa: E402
from benchmark.suites.base import Cell  # noqa: E402


@pytest.fixture(scope="module")
def cluster():
    """One local 2-CPU cluster for the module (the executor reuses it and leaves it running)."""
    started = not ray.is_initialized()
    if started:
        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield
    if started:
        ray.shutdown()


def options(tmp_path, executor: str, **overrides) -> RunOptions:
    settings = dict(
        profile="smoke",
        suite="standard",
        strategies=["random"],
        ipcs=[1],
        repeats=2,
        output_dir=tmp_path / executor,
        device="cpu",
        show_progress=False,
        executor=executor,
        cpus_per_cell=1,
    )
    return RunOptions(**(settings | overrides))


def records(root) -> dict[str, dict]:
    return {p.stem: json.loads(p.read_text()) for p in sorted((root / "records").rglob("*.json"))}


def test_ray_run_writes_the_same_records_as_a_local_run(tmp_path, cluster):
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # the same thread count per cell as the Ray tasks (cpus_per_cell=1)
    try:
        run(options(tmp_path, "local"))
    finally:
        torch.set_num_threads(threads)
    run(options(tmp_path, "ray"))
    local, remote = records(tmp_path / "local"), records(tmp_path / "ray")
    assert len(local) == 2 and set(remote) == set(local)
    for key, record in local.items():
        assert remote[key]["status"] == record["status"] == "ok"
        assert remote[key]["config"] == record["config"]
        assert remote[key]["metrics"] == record["metrics"]
    buffers = {p.name for p in (tmp_path / "local" / "buffers").rglob("*.safetensors")}
    assert buffers and {p.name for p in (tmp_path / "ray" / "buffers").rglob("*.safetensors")} == buffers
    assert not list((tmp_path / "ray").rglob("*.tmp"))


def test_a_raising_cell_is_recorded_as_failed_and_the_others_finish_and_resume(tmp_path, cluster):
    opts = options(tmp_path, "ray", ipcs=[1, 2], repeats=1)
    profile = load_profile(opts.selection.profile)
    suite = SUITES.get(opts.selection.suite)(opts, profile, Engine(opts.engine, profile))
    broken = Cell("no_such_dataset", "random", 1, 0)
    EXECUTORS.get("ray")().run(suite, [*suite.cells(), broken])
    found = records(opts.engine.output_dir)
    failed = [r for r in found.values() if r["status"] == "failed"]
    assert len(failed) == 1 and "no_such_dataset" in failed[0]["error"]
    cell_config = {"dataset": "no_such_dataset", "spec": "random", "ipc": 1, "seed": 0}
    assert failed[0]["config"] == {"suite": "standard", "profile": "smoke"} | cell_config
    ok = {k: r for k, r in found.items() if r["status"] == "ok"}
    assert sorted(r["config"]["ipc"] for r in ok.values()) == [1, 2]

    # Resume: finished cells are skipped (their files are not rewritten), the broken one fails again.
    stamps = {p: p.stat().st_mtime_ns for p in opts.engine.output_dir.rglob("*") if p.is_file()}
    EXECUTORS.get("ray")().run(suite, [*suite.cells(), broken])
    again = records(opts.engine.output_dir)
    assert set(again) == set(found)
    for path, stamp in stamps.items():
        if path.stem in ok or path.suffix == ".safetensors":
            assert path.stat().st_mtime_ns == stamp, path


def test_missing_ray_names_the_extra(monkeypatch, tmp_path):
    import sys

    from benchmark.errors import UserInputError

    monkeypatch.setitem(sys.modules, "ray", None)
    opts = options(tmp_path, "ray")
    profile = load_profile(opts.selection.profile)
    suite = SUITES.get(opts.selection.suite)(opts, profile, Engine(opts.engine, profile))
    with pytest.raises(UserInputError, match=r"pip install 'distill-benchmark\[ray\]'"):
        EXECUTORS.get("ray")().run(suite, suite.cells())
