"""Reliability, round two (docs/reliability.md): each class of fault a red-team pass found, reproduced.

User errors and environment faults are one line before any work (exit 2); a bad cell stays one bad
cell; tampered or invalid files are refused or skipped with one line naming them.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import warnings
from pathlib import Path

import pytest
import torch
from safetensors.torch import load as load_safetensors
from safetensors.torch import save as save_safetensors

from benchmark.buffer import Buffer
from benchmark.cli import main
from benchmark.errors import CorruptFileError, UserInputError
from benchmark.options import EngineOptions, RunOptions
from benchmark.pixels import pixel_buffer
from benchmark.registries import STRATEGIES
from benchmark.runner import run
from benchmark.strategy import Strategy

ROOT = Path(__file__).resolve().parents[1]
SMOKE = ["--profile", "smoke", "--no-progress", "--device", "cpu"]


def cli_error(capsys, *args) -> str:
    """Run the CLI in-process; it must fail with exit 2 and exactly one line on stderr (argparse's own
    usage errors leave by SystemExit, as from the console script)."""
    try:
        code = main(list(args))
    except SystemExit as leaving:
        code = leaving.code
    err = capsys.readouterr().err
    assert code == 2, (args, code, err)
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    return lines[0]


def random_run(folder: Path, repeats: int) -> list[str]:
    """``run`` of the smoke profile: random at IPC 1 with ``repeats`` networks into ``folder``."""
    return ["run", *SMOKE, "--strategies", "random", "--ipc", "1", "--repeats", str(repeats),
            "--output-dir", str(folder)]  # fmt: skip


def records(folder: Path) -> list[dict]:
    return [json.loads(p.read_text()) for p in sorted(folder.glob("records/*/*.json"))]


def rewrite_manifest(path: Path, **changes) -> None:
    data = path.read_bytes()
    length = int.from_bytes(data[:8], "little")
    manifest = json.loads(json.loads(data[8 : 8 + length])["__metadata__"]["manifest"])
    tensors = load_safetensors(data)
    path.write_bytes(save_safetensors(tensors, metadata={"manifest": json.dumps(manifest | changes)}))


# ---- 1. integrity covers the manifest --------------------------------------------------------------


def test_an_edited_manifest_is_refused_naming_what_changed(tmp_path):
    buffer = pixel_buffer(torch.zeros(4, 1, 8, 8), [0, 1])
    buffer.manifest |= {"dataset": "digits", "ipc": 2, "spec": "random"}
    path = buffer.save(tmp_path / "b.safetensors")
    assert Buffer.load(path).manifest["ipc"] == 2
    rewrite_manifest(path, classes=[1, 0], ipc=1)
    with pytest.raises(
        CorruptFileError, match=r"changed after it was saved \(classes \(edited\), ipc \(edited\)\)"
    ):
        Buffer.load(path)
    rewrite_manifest(path, strategy="dm")  # a field added after saving
    with pytest.raises(CorruptFileError, match=r"strategy \(added\)"):
        Buffer.load(path)


def test_a_buffer_of_the_first_format_is_read_with_a_warning(tmp_path):
    buffer = pixel_buffer(torch.zeros(2, 1, 8, 8), [0, 1])
    path = buffer.save(tmp_path / "b.safetensors")
    rewrite_manifest(path, format="distill-benchmark-buffer/1")
    with pytest.warns(UserWarning, match="predates manifest digests"):
        assert Buffer.load(path).manifest["format"] == "distill-benchmark-buffer/1"


# ---- 2. non-finite buffers are failures ------------------------------------------------------------


class NotANumber(Strategy):
    """Stores NaN images (a diverged method that did not notice)."""

    name = "not_a_number"

    def fit(self, data, budget, seed, context):
        return pixel_buffer(torch.full((budget.ipc * len(data.classes), *data.image_shape), float("nan")),
                            data.classes)  # fmt: skip


def test_a_nan_buffer_is_a_failed_cell_and_is_not_saved(tmp_path):
    STRATEGIES.register("not_a_number", NotANumber)
    try:
        opts = RunOptions(profile="smoke", strategies=["not_a_number", "random"], ipcs=[1], repeats=1,
                          output_dir=tmp_path, show_progress=False)  # fmt: skip
        run(opts)
    finally:
        STRATEGIES.unregister("not_a_number")
    by_strategy = {r["config"]["strategy"]: r for r in records(tmp_path)}
    failed = by_strategy["not_a_number"]
    assert (
        failed["status"] == "failed"
        and "'not_a_number' produced a buffer that is not finite" in failed["error"]
    )
    assert by_strategy["random"]["status"] == "ok"
    assert not list((tmp_path / "buffers").glob("not_a_number/*"))


# ---- 3. records validated on read ------------------------------------------------------------------


def test_invalid_records_are_skipped_with_one_warning_and_redone(tmp_path, capsys):
    args = random_run(tmp_path, repeats=2)
    assert main(args) == 0
    paths = sorted(tmp_path.glob("records/standard/*.json"))
    first, second = (json.loads(p.read_text()) for p in paths)
    first["metrics"]["accuracy"] = "high"  # text where a number belongs
    second["status"] = "maybe"  # an unknown status is not settled
    paths[0].write_text(json.dumps(first))
    paths[1].write_text(json.dumps(second))
    env = dict(os.environ, BENCHMARK_PROGRESS="0")
    for command in (["show"], ["leaderboard", "--no-figures"], ["contrast"]):  # as a user sees them
        done = subprocess.run([sys.executable, "-m", "benchmark", *command, "--output-dir", str(tmp_path)],
                              cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)  # fmt: skip
        assert done.returncode == 0 and "Traceback" not in done.stderr, (command, done.stderr)
        warned = [line for line in done.stderr.splitlines() if line.startswith("warning: ignoring")]
        assert len(warned) == 2 and all("not a valid record" in line for line in warned), done.stderr
    assert main(args) == 0  # the run redoes both and writes valid records in their place
    assert [json.loads(p.read_text())["status"] for p in paths] == ["ok", "ok"]
    assert all(isinstance(json.loads(p.read_text())["metrics"]["accuracy"], float) for p in paths)


# ---- 4. up-front validation ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "args,message",
    [
        (["--networks", "NoNet"], "Unknown network 'NoNet'"),
        (["--strategies", "dm:network=NoNet"], "network=NoNet is not a registered network"),
        (["--seeds", "4294967296"], "--seeds 4294967296 is out of range"),
        (["--seeds", "-1"], "--seeds -1 is out of range"),
        (["--suite", "continual", "--class-orders", "-2"], "--class-orders -2 is out of range"),
        (["--strategies", "speed:objective=dm:lam=nan"], "lam=nan is not a finite number"),
        (["--strategies", ","], "--strategies names no value"),
        (["--ipc", ","], "--ipc names no value"),
        (["--seeds", ""], "--seeds names no value"),
        (["--repeats", "0"], "--repeats 0 is out of range"),
        (["--suite", "continual", "--steps", "0"], "--steps 0 is out of range"),
        (["--ipc", "100000"], "is more than the"),
        (["--suite", "continual", "--strategies", "whole"], "'whole' is unbudgeted"),
        # the red-team pass (docs/reliability.md)
        (["--ipc", "1.5"], "'1.5' is not a comma-separated list of int"),
        (["--repeats", "100000"], "--repeats 100000 is out of range"),
        (["--networks", "ConvNetD6"], "network ConvNetD6 (options none) cannot take 1×8×8 images"),
        (["--networks", "ConvNet,ConvNet"], "--networks names ConvNet twice"),
        (["--strategies", "random,random"], "--strategies names random twice"),
        (["--strategies", "dm:dsa=bogus"], "dm: dsa=bogus: unknown DSA family"),
        (["--cpus-per-cell", "4"], "are for --executor ray"),
        (["--executor", "ray", "--cpus-per-cell", "0"], "--cpus-per-cell 0 is out of range"),
        (["--output-dir", ""], "--output-dir: is empty"),
    ],
)
def test_bad_settings_are_one_line_before_any_work(args, message, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "out"
    line = cli_error(capsys, "run", *SMOKE, "--output-dir", str(out), *args)
    assert message in line, line
    assert not out.exists() and list(tmp_path.iterdir()) == []  # nothing created, not even the folder


# ---- 5. one bad cell stays one bad cell ------------------------------------------------------------


def test_a_damaged_buffer_fails_its_cell_and_force_rebuilds_it(tmp_path, capsys):
    args = [
        "run",
        *SMOKE,
        "--strategies",
        "random",
        "--ipc",
        "1,2",
        "--repeats",
        "1",
        "--output-dir",
        str(tmp_path),
    ]
    assert main(args) == 0
    first = sorted(tmp_path.glob("buffers/random/*.safetensors"))[0]
    first.write_bytes(first.read_bytes()[:-10])  # truncated
    for path in tmp_path.glob("records/standard/*.json"):
        path.unlink()
    assert main(args) == 0  # the run goes on
    statuses = sorted(r["status"] for r in records(tmp_path))
    assert statuses == ["failed", "ok"]
    failed = next(r for r in records(tmp_path) if r["status"] == "failed")
    assert str(first) in failed["error"] and "--force" in failed["error"]
    assert main([*args, "--force"]) == 0
    assert sorted(r["status"] for r in records(tmp_path)) == ["ok", "ok"]


def test_a_damaged_checkpoint_fails_its_cell_and_force_starts_afresh(tmp_path):
    from benchmark.engine import Engine
    from benchmark.profiles import load_profile

    opts = RunOptions(profile="smoke", strategies=["dm:iterations=3"], ipcs=[1], repeats=1,
                      output_dir=tmp_path, show_progress=False, device="cpu")  # fmt: skip
    engine = Engine(opts.engine, load_profile("smoke"))
    resolved = engine.buffers.resolve("dm:iterations=3", "digits", 1)
    data = engine.buffers.data("digits")
    key = engine.buffers.key(data, resolved, 1, 0)
    checkpoint = engine.store.checkpoint_path(key)
    checkpoint.parent.mkdir(parents=True)
    checkpoint.write_bytes(b"PK\x03\x04 not a checkpoint")
    run(opts)
    (record,) = records(tmp_path)
    assert record["status"] == "failed"
    assert str(checkpoint) in record["error"] and "--force to start this buffer afresh" in record["error"]
    assert "weights_only" not in record["error"]
    run(opts.replace(force=True))
    (record,) = records(tmp_path)
    assert record["status"] == "ok" and not checkpoint.exists()


def test_a_resumed_buffer_records_its_whole_distillation_time(tmp_path, digits):
    from benchmark.engine.buffers import fit_buffer
    from benchmark.engine.plan import fit_plan
    from benchmark.spec import parse_spec
    from benchmark.strategy import FitContext, resolve

    resolved = resolve(parse_spec("dm:iterations=4:batch_real=8:net_width=4"), "quick", "digits", 1)
    checkpoint = tmp_path / "c.pt"
    context = FitContext(cache_root=tmp_path, show_progress=False, checkpoint_path=checkpoint,
                         checkpoint_every_s=0.0)  # fmt: skip
    short = dict(resolved.config, iterations=2)
    fit_buffer(fit_plan(digits, type(resolved)(resolved.name, short), 1, 0), context)  # a checkpoint at 2
    state = torch.load(checkpoint, weights_only=True)
    state["wall_s"] = torch.tensor(500.0)  # as if the first part had taken 500 s
    torch.save(state, checkpoint)
    context = FitContext(cache_root=tmp_path, show_progress=False, checkpoint_path=checkpoint)
    buffer = fit_buffer(fit_plan(digits, resolved, 1, 0), context)
    assert buffer.manifest["distill_wall_s"] >= 500.0


# ---- 6. errors at the edges ------------------------------------------------------------------------


def test_an_unwritable_output_folder_is_one_line(tmp_path, capsys, monkeypatch):
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(stat.S_IRUSR | stat.S_IXUSR)
    if os.geteuid() == 0:  # root writes anywhere: make the folder read-only as the check sees it
        access = os.access
        monkeypatch.setattr(os, "access", lambda p, mode: False if Path(p) == folder else access(p, mode))
    try:
        assert "is not writable" in cli_error(capsys, "run", *SMOKE, "--output-dir", str(folder))
        assert "is not writable" in cli_error(capsys, "leaderboard", "--output-dir", str(folder))
    finally:
        folder.chmod(stat.S_IRWXU)


def test_read_only_commands_create_no_folder(tmp_path, capsys):
    missing = tmp_path / "typo"
    for command in (["show"], ["leaderboard"], ["contrast"], ["compare"]):
        assert "no results folder" in cli_error(capsys, *command, "--output-dir", str(missing))
    assert not missing.exists()


def test_idx_files_with_more_images_than_labels_are_one_line(tmp_path, capsys):
    import numpy as np

    from benchmark.data.idx import write_idx

    for prefix, n in (("train", 12), ("t10k", 4)):
        write_idx(tmp_path / f"{prefix}-images-idx3-ubyte", np.zeros((n, 28, 28), np.uint8))
        write_idx(tmp_path / f"{prefix}-labels-idx1-ubyte", np.zeros(n - 1, np.uint8))
    line = cli_error(capsys, "run", "--dataset", "fashion_mnist", "--data-root", str(tmp_path), *SMOKE,
                     "--output-dir", str(tmp_path / "out"))  # fmt: skip
    assert "12 images but 11 labels" in line


@pytest.mark.parametrize(
    "source,message",
    [
        ("raise RuntimeError('broken plugin')", "failed to load (line 1): RuntimeError: broken plugin"),
        ("def broken(:\n    pass", "failed to load (line 1): SyntaxError"),
        ("import sys\nsys.exit(3)", "called sys.exit(3) while loading"),
        ("from benchmark.registries import STRATEGIES\nSTRATEGIES.register('random', object)",
         "strategy 'random' is already registered; choose another name"),
    ],
)  # fmt: skip
def test_a_broken_plugin_file_is_one_line_naming_it(source, message, tmp_path, capsys):
    plugin = tmp_path / "mine.py"
    plugin.write_text(source)
    line = cli_error(capsys, "--plugin", str(plugin), "list")
    assert message in line and str(plugin) in line or "already registered" in line, line


def test_a_broken_pipe_is_not_a_traceback(tmp_path):
    assert main(["run", *SMOKE, "--strategies", "random", "--ipc", "1", "--output-dir", str(tmp_path)]) == 0
    command = f"{sys.executable} -m benchmark show --format csv --output-dir {tmp_path} | head -1"
    done = subprocess.run(command, shell=True, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.stdout.startswith("key,") and "Traceback" not in done.stderr, done.stderr


# ---- 7. data identity ------------------------------------------------------------------------------


def test_a_data_root_without_the_files_is_an_error_not_a_fall_back(tmp_path, capsys):
    line = cli_error(capsys, "run", "--dataset", "fashion_mnist", "--data-root", str(tmp_path), *SMOKE,
                     "--output-dir", str(tmp_path / "out"))  # fmt: skip
    assert "Fashion-MNIST not found; looked in: " + str(tmp_path) in line
    assert "/usr/share/datasets" not in line


def test_other_data_gets_other_buffer_keys_and_the_source_is_recorded(tmp_path, digits):
    from dataclasses import replace

    from benchmark.engine import Engine
    from benchmark.profiles import load_profile

    engine = Engine(
        EngineOptions(output_dir=tmp_path, show_progress=False), load_profile("smoke")
    )
    resolved = engine.buffers.resolve("random", "digits", 1)
    data = engine.buffers.data("digits")
    assert data.fingerprint and data.source
    changed = replace(data, train=replace(data.train, images=data.train.images + 0.5))
    changed.fingerprint = changed.content_fingerprint()
    assert engine.buffers.key(data, resolved, 1, 0) != engine.buffers.key(changed, resolved, 1, 0)
    outcome = engine.buffers.obtain(engine.buffers.plan(data, resolved, 1, 0))
    assert outcome.buffer.manifest["data_source"] == data.source
    assert outcome.buffer.manifest["data_fingerprint"] == data.fingerprint


# ---- 8. plugin files under the ray executor --------------------------------------------------------


def test_plugin_files_reach_ray_workers(tmp_path):
    pytest.importorskip("ray")
    env = dict(os.environ, BENCHMARK_PROGRESS="0")
    args = ["--plugin", "examples/mean_groups.py", "run", *SMOKE, "--strategies", "mean_groups:group=2",
            "--ipc", "1", "--repeats", "1", "--executor", "ray", "--output-dir", str(tmp_path)]  # fmt: skip
    done = subprocess.run([sys.executable, "-m", "benchmark", *args], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=300)  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    (record,) = records(tmp_path)
    assert record["status"] == "ok", record.get("error")


# ---- 9. the same seeds, thread count and device give the same numbers in two processes ------------


def test_two_processes_give_the_same_numbers_and_record_what_they_depend_on(tmp_path):
    env = dict(os.environ, BENCHMARK_PROGRESS="0", OMP_NUM_THREADS="1")
    metrics = []
    for name in ("a", "b"):
        args = ["run", *SMOKE, "--strategies", "random,dm:iterations=3", "--ipc", "1", "--repeats", "1",
                "--output-dir", str(tmp_path / name)]  # fmt: skip
        subprocess.run([sys.executable, "-m", "benchmark", *args], cwd=ROOT, env=env, check=True,
                       capture_output=True, timeout=300)  # fmt: skip
        found = records(tmp_path / name)
        assert all(r["runtime"]["threads"] == 1 and r["runtime"]["device"] == "cpu" for r in found)
        metrics.append({r["key"]: r["metrics"] for r in found})
    assert metrics[0] == metrics[1] and len(metrics[0]) == 2


def test_warnings_of_the_harness_are_one_line(capsys):
    from benchmark.cli import show_warnings_in_one_line
    from benchmark.errors import BenchmarkWarning

    show_warnings_in_one_line()
    with warnings.catch_warnings():
        warnings.simplefilter("always")
        warnings.warn("something to know", BenchmarkWarning, stacklevel=1)
    assert capsys.readouterr().err == "warning: something to know\n"


# ---- the red-team pass: other commands and stored files ----------------------------------------------


@pytest.mark.parametrize(
    "args,message",
    [
        (["evaluate", "{buffer}", "--repeats", "0"], "--repeats 0 is out of range"),
        (["evaluate", "{out}", "--repeats", "1"], "is a folder, not a buffer file"),
        (["distill", "--dataset", "digits", "--strategy", "random", "--ipc", "1", "--seed", "-1"],
         "--seed -1 is out of range"),
        (["distill", "--dataset", "digits", "--strategy", "random", "--ipc", "1", "--seed", str(2**70)],
         "out of range"),
        (["distill", "--dataset", "digits", "--strategy", "random", "--ipc", "100000"], "is more than the"),
        (["plan", "speed", "--dataset", "digits", "--ipc", "1", "--classes", "0"], "--classes 0 is out"),
        (["plan", "speed", "--dataset", "digits", "--ipc", "1", "--classes", "1000"], "--classes 1000 is"),
        (["show", "--suite", "standrad"], "Did you mean 'standard'?"),
        (["show", "--profile", "quik"], "Did you mean 'quick'?"),
        (["experts", "--dataset", "digits", "--lr", "-1"], "--lr -1.0 is out of range"),
        (["experts", "--dataset", "digits", "--lr", "nan"], "--lr nan is out of range"),
        (["experts", "--dataset", "digits", "--depth", "6", "--width", "4"], "network ConvNet"),
        (["experts", "--dataset", "digits", "--subset", "-5"], "--subset -5 is out of range"),
    ],
)  # fmt: skip
def test_other_commands_check_their_values_first(args, message, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "out"
    assert main(["run", *SMOKE, "--strategies", "random", "--ipc", "1", "--output-dir", str(out)]) == 0
    buffer = next(out.glob("buffers/random/*.safetensors"))
    capsys.readouterr()
    args = [a.format(buffer=buffer, out=out) for a in args]
    extra = [] if args[0] in ("plan", "experts") else ["--output-dir", str(out)]
    extra += ["--output-dir", str(tmp_path / "experts")] if args[0] == "experts" else []
    line = cli_error(capsys, *args, *extra)
    assert message in line, line


def test_suspicious_records_are_skipped_and_redone(tmp_path):
    from benchmark.results.store import ResultStore

    args = random_run(tmp_path, repeats=4)
    assert main(args) == 0
    paths = sorted(tmp_path.glob("records/standard/*.json"))
    records = [json.loads(p.read_text()) for p in paths]
    records[0]["metrics"]["accuracy"] = 1e308  # out of [0, 1]
    records[1]["config"]["ipc"] = 50  # edited config, key kept: not the hash of its config
    records[2]["metrics"] = {}  # an ok record without its accuracy
    del records[3]["config"]["network"]  # what was trained is missing
    for path, record in zip(paths, records, strict=True):
        path.write_text(json.dumps(record))
    (paths[0].parent / "copy.json").write_text(json.dumps(records[0]))  # a copy under another name
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert ResultStore(tmp_path).records() == []
    assert len(caught) == 5
    assert main(args) == 0  # all four redone
    assert len(ResultStore(tmp_path).records()) == 4


def test_a_buffer_moved_to_another_key_fails_its_cell(tmp_path):
    args = [
        "run",
        *SMOKE,
        "--strategies",
        "random,dm:iterations=2",
        "--ipc",
        "1",
        "--output-dir",
        str(tmp_path),
    ]
    assert main(args) == 0
    (random,), (dm,) = (list(tmp_path.glob(f"buffers/{name}/*.safetensors")) for name in ("random", "dm"))
    random.write_bytes(dm.read_bytes())  # dm's buffer where random's belongs
    for path in tmp_path.glob("records/standard/*.json"):
        path.unlink()
    assert main(args) == 0
    by_strategy = {r["config"]["strategy"]: r for r in records(tmp_path)}
    assert by_strategy["random"]["status"] == "failed" and "moved or copied" in by_strategy["random"]["error"]
    assert by_strategy["dm"]["status"] == "ok"
    random.unlink()
    random.mkdir()  # a folder where the buffer belongs
    for path in tmp_path.glob("records/standard/*.json"):
        path.unlink()
    assert main(args) == 0
    assert "taken by a folder" in {r["config"]["strategy"]: r for r in records(tmp_path)}["random"]["error"]


def test_a_network_that_fails_to_train_is_one_failed_record(tmp_path, monkeypatch):
    import benchmark.engine.evaluation as evaluation

    real = evaluation.train_and_test

    def failing(job, *args, **kwargs):
        if job.network == "MLP":
            raise RuntimeError("out of memory")
        return real(job, *args, **kwargs)

    monkeypatch.setattr(evaluation, "train_and_test", failing)
    opts = RunOptions(profile="smoke", strategies=["random"], ipcs=[1], repeats=1,
                      networks=["MLP", "ConvNet"], output_dir=tmp_path, show_progress=False)  # fmt: skip
    run(opts)
    by_network = {r["config"]["network"]: r for r in records(tmp_path)}
    assert by_network["MLP"]["status"] == "failed" and "out of memory" in by_network["MLP"]["error"]
    assert by_network["ConvNet"]["status"] == "ok"


def test_labels_outside_the_classes_are_one_line(tmp_path, capsys):
    import numpy as np

    from benchmark.data.idx import write_idx

    for prefix, n in (("train", 12), ("t10k", 4)):
        write_idx(tmp_path / f"{prefix}-images-idx3-ubyte", np.zeros((n, 28, 28), np.uint8))
        write_idx(tmp_path / f"{prefix}-labels-idx1-ubyte", np.full(n, 57, np.uint8))
    line = cli_error(capsys, "run", "--dataset", "fashion_mnist", "--data-root", str(tmp_path), *SMOKE,
                     "--output-dir", str(tmp_path / "out"))  # fmt: skip
    assert "labels hold 57, outside its classes 0…9" in line


def test_a_failed_download_is_one_line(tmp_path, capsys, monkeypatch):
    import urllib.error

    import torchvision.datasets

    def offline(*args, **kwargs):
        raise urllib.error.URLError("Name or service not known")

    monkeypatch.setattr(torchvision.datasets, "FashionMNIST", offline)
    line = cli_error(capsys, "run", "--dataset", "fashion_mnist", "--download", "--data-root", str(tmp_path),
                     *SMOKE, "--output-dir", str(tmp_path / "out"))  # fmt: skip
    assert "could not be downloaded" in line and "Name or service not known" in line


def test_a_tampered_corruption_cache_is_made_again(tmp_path, digits):
    pytest.importorskip("corrupt_tta")
    import numpy as np

    from benchmark.corruptions.generate import cached_corruptions

    images = (np.arange(2 * 8 * 8).reshape(2, 8, 8, 1) % 255).astype(np.uint8)
    first = cached_corruptions(images, {"d": 1}, ["contrast"], [3], tmp_path, workers=1, show_progress=False)
    (path,) = tmp_path.glob("cache/corruptions/*.npy")
    np.save(path, np.zeros_like(first[("contrast", 3)]))
    with pytest.warns(UserWarning, match="damaged cache"):
        again = cached_corruptions(
            images, {"d": 1}, ["contrast"], [3], tmp_path, workers=1, show_progress=False
        )
    assert np.array_equal(again[("contrast", 3)], first[("contrast", 3)])


def test_a_buffer_from_other_files_of_the_dataset_is_refused(tmp_path, digits):
    from dataclasses import replace

    from benchmark.engine import Engine
    from benchmark.profiles import load_profile

    engine = Engine(
        EngineOptions(output_dir=tmp_path, show_progress=False), load_profile("smoke")
    )
    resolved = engine.buffers.resolve("random", "digits", 1)
    outcome = engine.buffers.obtain(engine.buffers.plan(engine.buffers.data("digits"), resolved, 1, 0))
    other = replace(digits, fingerprint="0" * 16)
    with pytest.raises(UserInputError, match="made from other digits files"):
        outcome.buffer.check_data(other)
