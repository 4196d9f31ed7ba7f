"""Hostile inputs (issue 37): records, buffers, plugins and settings built to break the harness.

Hostile records are valid records with an edited config and the key recomputed with ``record_key``;
hostile buffers are valid, checksummed buffers written with ``Buffer.save`` from a real smoke
``random`` buffer with an edited manifest or tensors, so only validation by content refuses them.
Every test runs in this process. The ids (E5, L9, N1, …) are those of the hostile-input pass of
2026-12 (docs/reliability.md).
"""

from __future__ import annotations

import json
import logging
import math
import os
import warnings
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch

from benchmark.buffer import Buffer
from benchmark.cli import configure_logging, main
from benchmark.errors import BenchmarkWarning, UserInputError
from benchmark.export import export_buffer
from benchmark.paths import inside, is_safe_name, safe_name
from benchmark.profiles import parse_profile
from benchmark.report.commands import build_leaderboard
from benchmark.report.escape import markdown_text, safe_url
from benchmark.report.render import render_html, render_markdown
from benchmark.report.tables import build_tables
from benchmark.results.frame import aggregate, records_frame, results_frame
from benchmark.results.record import Record, record_key
from benchmark.results.store import ResultStore

SMOKE = ["--profile", "smoke", "--no-progress", "--device", "cpu"]
RECIPE = {"epochs": 5, "lr": 0.01}


def config(spec="random", suite="standard", ipc=1, repeat=0, **extra):
    return {
        "dataset": "digits", "suite": suite, "profile": "smoke", "spec": spec, "strategy": spec.split(":")[0],
        "ipc": ipc, "network": "ConvNet", "eval_recipe": RECIPE, "step": None, "steps": None,
        "class_order": None, "distill_seed": 0, "repeat": repeat, "eval_seed": repeat,
    } | extra  # fmt: skip


def record(accuracy=0.5, metrics=None, **changes) -> Record:
    return Record(config(**changes), "ok", metrics or {"accuracy": accuracy}, storage=640.0, budget=640.0)


def write_hostile(root: Path, good: Record, folder: str | None = None, **config_changes) -> Path:
    """``good`` with an edited config, its key recomputed: a record only content checks can refuse."""
    data = good.to_json()
    data["config"] = data["config"] | config_changes
    data["key"] = record_key(data["config"], data["code"])
    path = root / "records" / (folder or "standard") / f"{data['key']}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data))
    return path


def files_under(folder: Path) -> set[Path]:
    return {Path(base, name) for base, _, names in os.walk(folder) for name in names}


def one_error_line(capsys) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: "), err
    return err[0]


# ---- the path policy ----------------------------------------------------------------------------------


def test_safe_name_slugs_and_inside_refuses_a_way_out(tmp_path):
    assert safe_name("../../etc/passwd") == "etc-passwd"
    assert safe_name("..") == "unnamed" and safe_name("") == "unnamed"
    long_a, long_b = safe_name("a" * 300), safe_name("a" * 299 + "b")
    assert len(long_a) <= 80 and long_a != long_b and is_safe_name(long_a)
    assert not is_safe_name("../x") and not is_safe_name(".hidden") and is_safe_name("cross-arch")
    root = tmp_path / "out"
    root.mkdir()
    assert inside(root, "tables/x.csv") == root / "tables" / "x.csv"
    with pytest.raises(UserInputError, match="outside"):
        inside(root, "../escaped.csv")
    (root / "link").symlink_to(tmp_path)
    with pytest.raises(UserInputError, match="outside"):
        inside(root, "link/escaped.csv")


def test_hostile_records_and_suites_write_nothing_outside_the_output_folder(tmp_path):
    """L9, P1: `../` in a record's dataset or profile, a suite named `../../../escaped_suite`."""
    out = tmp_path / "nested" / "results"
    store = ResultStore(out)
    good = record()
    store.put(good)
    store.put(record(spec="dm", accuracy=0.6))
    for field in ("dataset", "profile", "suite", "network", "strategy"):
        write_hostile(out, good, **{field: "../../../escaped_" + field})
    with pytest.raises(UserInputError, match="cannot name a file"):
        store.put(record(suite="../../../escaped_suite"))
    with pytest.warns(BenchmarkWarning, match="not a name a file can have"):
        records = store.records()
    assert len(records) == 2
    result = build_leaderboard(out)
    assert result["records"] == 2
    outside = {p for p in files_under(tmp_path) if out.resolve() not in p.resolve().parents}
    assert outside == set()
    assert {p.name for p in (out / "tables").iterdir()} == {"records.csv", "digits_standard_smoke.csv"}


# ---- escaping and links --------------------------------------------------------------------------------


def test_links_only_http_and_one_escaping_rule_for_markdown_and_html(tmp_path):
    """L1, L2, L4: a plugin's `javascript:` paper link, a code link that closes its attribute, and
    `<script>` / `<img onerror>` in record fields reach neither page as markup."""
    from benchmark.registries import STRATEGIES

    random = STRATEGIES.get("random")
    try:
        STRATEGIES.register(
            "hostile", random, paper="javascript:alert(1)",
            code='https://example.org/"><img src=x onerror=alert(1)>',
        )  # fmt: skip
        STRATEGIES.register("linked", random, paper="https://example.org/paper")
        records = [
            record(spec="hostile:note=<script>alert(1)</script>", accuracy=0.4),
            record(spec="hostile:note=<img src=x onerror=alert(2)>", accuracy=0.5),
            record(spec="linked", accuracy=0.6),
        ]
        records[0] = replace(records[0], command="python -m benchmark run <script>alert(3)</script>")
        tables = build_tables(records)
        markdown = render_markdown(tables, [], ["a note <img src=x onerror=alert(4)>"], tmp_path)
        page = render_html(tables, [], ["a note <img src=x onerror=alert(4)>"])
    finally:
        for name in ("hostile", "linked"):
            STRATEGIES._entries.pop(name, None)
    prose = "\n".join(line for line in markdown.splitlines() if not line.startswith("    "))  # code: literal
    for text in (prose, page):
        assert "<script>alert" not in text and "<img src=x" not in text
        assert "javascript:" not in text
    assert "[paper](https://example.org/paper)" in markdown
    assert '<a href="https://example.org/paper">paper</a>' in page
    assert "&lt;script&gt;" in prose and "&lt;script&gt;" in page
    assert safe_url("https://example.org/a?b=1") and not safe_url("data:text/html,x")
    assert markdown_text("a|b\nc") == "a\\|b c"


# ---- tables never mix what differs ---------------------------------------------------------------------


def test_precision_and_continual_steps_are_separate_rows():
    """N1, N2, N4: bf16 beside fp32 records; continual runs of 2 and 5 steps in one store."""
    fp32 = [record(accuracy=a, repeat=i) for i, a in enumerate((0.50, 0.52))]
    bf16 = [
        record(accuracy=a, repeat=i, eval_recipe=RECIPE | {"precision": "bf16"})
        for i, a in enumerate((0.9, 0.9))
    ]
    (table,) = build_tables(fp32 + bf16)
    fp32_row, bf16_row = ("random [precision=fp32]",), ("random [precision=bf16]",)
    assert table.rows("measured") == [bf16_row, fp32_row]
    fp32_cell = table.cell(fp32_row, "IPC 1")
    assert fp32_cell["n"] == 2 and fp32_cell["mean"] == pytest.approx(51.0)
    assert table.cell(bf16_row, "IPC 1")["mean"] == pytest.approx(90.0)

    def step(steps, t, accuracy):
        return record(suite="continual", accuracy=accuracy, step=t, steps=steps, class_order=0)

    continual = [step(2, t, 0.9) for t in range(2)] + [step(5, t, 0.5) for t in range(5)]
    (table,) = build_tables(continual)
    rows = table.rows("measured")
    assert [r[0] for r in rows] == ["random [steps=2]", "random [steps=5]"]
    assert table.cell(rows[0], "step 1")["mean"] == pytest.approx(90.0)
    assert table.cell(rows[1], "step 1")["mean"] == pytest.approx(50.0)
    assert table.cell(rows[0], "final")["mean"] == pytest.approx(90.0)


def test_older_records_without_precision_share_a_row_with_fp32():
    old = record(accuracy=0.5)
    new = record(accuracy=0.7, repeat=1, eval_recipe=RECIPE | {"precision": "fp32"})
    (table,) = build_tables([old, new])
    assert table.rows("measured") == [("random",)] and table.cell(("random",), "IPC 1")["n"] == 2


def test_only_accuracies_are_percent():
    """N3: a plugin suite's extra metric `loss = 0.5` stays 0.5."""
    records = [record(metrics={"accuracy": 0.25, "loss": 0.5})]
    frame = results_frame(records)
    by_metric = frame.set_index("metric")
    assert by_metric.loc["accuracy", "value_pct"] == pytest.approx(25.0)
    assert math.isnan(by_metric.loc["loss", "value_pct"]) and by_metric.loc["loss", "value"] == 0.5
    obs = records_frame(records).assign(column=lambda f: f["metric"], order=[(0,)] * 2, axis=np.nan)
    cells = aggregate(obs, ["label"]).set_index("column")
    assert cells.loc["loss", "mean"] == pytest.approx(0.5) and cells.loc["accuracy", "mean"] == pytest.approx(
        25.0
    )


def test_a_record_counts_once_by_key(tmp_path):
    """N6, N7: a symlinked records folder and copied record files."""
    store = ResultStore(tmp_path)
    for repeat, accuracy in enumerate((0.5, 0.7)):
        store.put(record(accuracy=accuracy, repeat=repeat))
    (tmp_path / "records" / "standard_link").symlink_to(tmp_path / "records" / "standard")
    (tmp_path / "records" / "copy").mkdir()
    for path in (tmp_path / "records" / "standard").glob("*.json"):
        (tmp_path / "records" / "copy" / path.name).write_bytes(path.read_bytes())
    records = store.records()
    assert len(records) == 2
    (table,) = build_tables(records + records)
    assert table.cell(("random",), "IPC 1")["n"] == 2
    assert len(results_frame(records + records)) == 2


def test_equal_means_share_a_rank():
    """N8: both bold, both first."""
    records = [record(accuracy=a, repeat=i) for i, a in enumerate((0.1, 0.2, 0.7))]
    records += [record(spec="dm", accuracy=a, repeat=i) for i, a in enumerate((0.7, 0.2, 0.1))]
    (table,) = build_tables(records)
    assert set(table.ranks().values()) == {1}
    assert table.cells["best"].sum() == 2


# ---- one bad file stops no reader --------------------------------------------------------------------


def test_bad_record_files_are_skipped_with_a_warning_naming_them(tmp_path):
    """L5, L6, P11: a spec with markup, a newline or `|`, and a FIFO named *.json."""
    store = ResultStore(tmp_path)
    good = record()
    store.put(good)
    paths = [
        write_hostile(tmp_path, good, spec="<img src=x onerror=alert(1)>"),
        write_hostile(tmp_path, good, spec="random:note=a\nb"),
    ]
    piped = write_hostile(tmp_path, good, spec="random:note=a|b")
    fifo = tmp_path / "records" / "standard" / "fifo.json"
    os.mkfifo(fifo)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        records = store.records()
        frame = results_frame(records)
    messages = "\n".join(str(w.message) for w in caught)
    for path in [*paths, fifo]:
        assert str(path) in messages
    assert len(records) == 2 and str(piped) not in messages  # `|` is text; the tables escape it
    assert "\\|" in render_markdown(build_tables(records), [], [], tmp_path)
    assert len(frame) == 2


# ---- export: validated, atomic, inside its folder ----------------------------------------------------


@pytest.fixture(scope="module")
def buffer_path(tmp_path_factory):
    out = tmp_path_factory.mktemp("hostile") / "results"
    args = [
        "distill",
        *SMOKE,
        "--dataset",
        "digits",
        "--strategy",
        "random",
        "--ipc",
        "1",
        "--output-dir",
        str(out),
    ]
    assert main(args) == 0
    (path,) = out.glob("buffers/random/*.safetensors")
    return path


def hostile_buffer(path: Path, folder: Path, tensors=None, **manifest) -> Path:
    buffer = Buffer.load(path)
    edited = Buffer(buffer.kind, dict(buffer.tensors) | (tensors or {}), buffer.manifest | manifest)
    return edited.save(folder / "hostile.safetensors")


@pytest.mark.parametrize(
    "case, manifest, message",
    [
        ("E6", {"class_names": list(range(10))}, "class_names"),
        ("E6", {"class_names": [None] * 10}, "class_names"),
        ("E11", {"mean": "0.5"}, "'mean'"),
        ("E13", {"mean": [0.1, 0.2, 0.3], "std": [1.0, 1.0, 1.0]}, "'mean'"),
        ("E14", {"std": [0]}, "std must be positive"),
        ("E15", {"classes": [0] * 10}, "names a class twice"),
    ],
)
def test_export_refuses_a_manifest_that_cannot_make_honest_pictures(
    buffer_path, tmp_path, case, manifest, message
):
    hostile = hostile_buffer(buffer_path, tmp_path, **manifest)
    with pytest.raises(UserInputError, match=message):
        export_buffer(Buffer.load(hostile), tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_export_refuses_images_that_are_not_nchw_and_empty_buffers(buffer_path, tmp_path):
    """E12, E16, and images holding NaN (own pass R53)."""
    images = Buffer.load(buffer_path).tensors["images"]
    for tensors in ({"images": images[:, 0]}, {"images": images[:0]}, {"images": images * float("nan")}):
        hostile = hostile_buffer(buffer_path, tmp_path, tensors=tensors)
        with pytest.raises(UserInputError):
            export_buffer(Buffer.load(hostile), tmp_path / "out", "npz")
    assert not (tmp_path / "out").exists()


def test_export_long_class_names_nan_lr_and_a_missing_zca_cache(buffer_path, tmp_path):
    """E5 (300-character name), E17 (NaN lr: null and a warning), E19 (names --results)."""
    names = ["x" * 300 + str(i) for i in range(10)]
    hostile = hostile_buffer(
        buffer_path, tmp_path, class_names=names, tensors={"lr": torch.tensor([float("nan")])}
    )
    with pytest.warns(BenchmarkWarning, match="learned lr is nan"):
        written = export_buffer(Buffer.load(hostile), tmp_path / "png")
    folders = {p.parent.name for p in written if p.suffix == ".png"}
    assert len(folders) == 10 and max(len(f) for f in folders) <= 80
    assert json.loads((tmp_path / "png" / "buffer.json").read_text())["learned_lr"] is None
    whitened = hostile_buffer(buffer_path, tmp_path, whitening="0" * 16)
    with pytest.raises(UserInputError, match="--results"):
        export_buffer(Buffer.load(whitened), tmp_path / "zca", cache_root=tmp_path)


def test_a_second_export_replaces_the_first_and_a_failed_one_changes_nothing(
    buffer_path, tmp_path, monkeypatch
):
    """E22, E23, E28–E33: png then npz into one folder; an export failing midway (a full disk, an
    interrupt) leaves the earlier export byte for byte, and nothing else."""
    import benchmark.export as export

    buffer = Buffer.load(buffer_path)
    out = tmp_path / "export"
    export_buffer(buffer, out, "png")
    export_buffer(buffer, out, "npz")
    assert {p.relative_to(out).as_posix() for p in files_under(out)} == {"buffer.npz", "buffer.json"}
    before = {p: p.read_bytes() for p in files_under(out)}

    for failure in (OSError(28, "No space left on device"), KeyboardInterrupt()):

        def failing(stage, *args, failure=failure):
            (stage / "buffer.pt").write_bytes(b"half")
            raise failure

        monkeypatch.setitem(export._WRITERS, "pt", failing)
        with pytest.raises((UserInputError, OSError, KeyboardInterrupt)):
            export_buffer(buffer, out, "pt")
        assert {p: p.read_bytes() for p in files_under(out)} == before
        assert sorted(p.name for p in tmp_path.iterdir()) == ["export"]  # no partial folder left


def test_export_refuses_a_folder_of_other_files_and_bad_output_dirs(buffer_path, tmp_path, capsys):
    """E22 (a folder a person filled), E24–E27: a file, a path under a file, a dangling link."""
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "thesis.tex").write_text("precious")
    (tmp_path / "file").write_text("x")
    (tmp_path / "dangling").symlink_to(tmp_path / "nowhere")
    for target in (mine, tmp_path / "file", tmp_path / "file" / "sub", tmp_path / "dangling"):
        assert main(["export", str(buffer_path), "--output-dir", str(target)]) == 2
        assert "--output-dir" in one_error_line(capsys)
    assert (mine / "thesis.tex").read_text() == "precious" and sorted(p.name for p in mine.iterdir()) == [
        "thesis.tex"
    ]
    if os.geteuid() != 0:  # E27: root writes anywhere
        locked = tmp_path / "locked"
        locked.mkdir(mode=0o500)
        assert main(["export", str(buffer_path), "--output-dir", str(locked / "out")]) == 2
        one_error_line(capsys)


def test_pictures_refuse_an_output_dir_that_is_a_file(buffer_path, tmp_path):
    """E36 (before any drawing)."""
    from speed.pictures import save_speed_pictures

    (tmp_path / "file").write_text("x")
    with pytest.raises(UserInputError, match="is a file"):
        save_speed_pictures(Buffer.load(buffer_path), tmp_path / "file")


def test_evaluate_refuses_a_one_class_buffer_and_a_nan_lr(buffer_path, tmp_path, capsys):
    """N10, N11: one line, before any training."""
    for name, edit in (
        ("one", {"classes": [0] * 10}),
        ("nan", {"tensors": {"lr": torch.tensor([float("nan")])}}),
    ):
        folder = tmp_path / name
        folder.mkdir()
        hostile = hostile_buffer(buffer_path, folder, **edit)
        assert main(["evaluate", str(hostile), *SMOKE, "--output-dir", str(buffer_path.parents[2])]) == 2
        assert ("distinct classes" if name == "one" else "learned lr") in one_error_line(capsys)


# ---- settings: refused before any work -----------------------------------------------------------------


@pytest.mark.parametrize(
    "case, text, message",
    [
        ("T2", '[standard]\nnetworks = "ConvNet"', "a list is expected"),
        ("T3", "[standard]\nrepeatz = 2", "no setting 'repeatz'.*Did you mean 'repeats'"),
        ("T4", "[nosuite]\nrepeats = 2", r"\[nosuite\] is not a suite's table"),
        ("T5", "[standard.recipes.default]\nepochs = -1", "epochs = -1"),
        ("T6", '[standard.recipes.ConvNet]\nlr = "fast"', "lr = 'fast'"),
        ("T8", "[standard.recipes.NoSuchNet]\nepochs = 3", "recipes.NoSuchNet: no such network"),
        ("T10", "[standard]\nrecipes = 5", "a table of tables"),
        ("T11", "[standard\nrepeats = 2", r"malformed TOML .*line 1"),
        ("T1", '[standard]\nrepeats = "two"', r"\[standard\] repeats = 'two'"),
    ],
)
def test_a_bad_profile_file_is_one_line_naming_file_and_key(case, text, message):
    with pytest.raises(UserInputError, match=message) as caught:
        parse_profile("hostile", text, "hostile.toml")
    assert "hostile.toml" in str(caught.value) and "\n" not in str(caught.value)


def test_a_bad_recipe_and_flags_that_do_not_apply_are_refused_before_any_work(tmp_path):
    """T5 through the run path; C3, C4: --steps and --class-orders on the standard suite."""
    from benchmark.engine import Engine
    from benchmark.options import RunOptions
    from benchmark.profiles import Profile
    from benchmark.runner import run
    from benchmark.suites.standard import StandardSuite

    options = RunOptions(profile="smoke", output_dir=tmp_path / "out", device="cpu", show_progress=False)
    profile = Profile("smoke", "", {"standard": {"recipes": {"default": {"epochs": -1}}}})
    suite = StandardSuite(options, profile, Engine(options.engine, profile))
    with pytest.raises(UserInputError, match="epochs = -1"):
        suite.cells()
    for flag in ({"steps": 3}, {"class_orders": [5]}):
        with pytest.raises(UserInputError, match="does not apply to the standard suite"):
            run(options.replace(**flag))
    assert not (tmp_path / "out").exists()


# ---- the edges: log file, lazy plugin targets, avalanche --------------------------------------------------


def test_a_log_file_on_a_full_disk_is_one_warning_and_logging_goes_on(capsys):
    """P6 (/dev/full answers every write with ENOSPC)."""
    if not Path("/dev/full").exists():
        pytest.skip("no /dev/full")
    configure_logging(Path("/dev/full"))
    logger = logging.getLogger("benchmark")
    for i in range(3):
        logger.info("line %d", i)
    err = capsys.readouterr().err.splitlines()
    assert [line for line in err if line.startswith("line")] == ["line 0", "line 1", "line 2"]
    assert len([line for line in err if "--log-file" in line]) == 1 and "Traceback" not in "\n".join(err)
    configure_logging(None)


def test_a_lazy_plugin_target_that_cannot_be_imported_is_one_line():
    """P17."""
    from benchmark.registry import Registry

    registry = Registry("strategy")
    registry.register("ghost", "no_such_module:Thing")
    with pytest.raises(
        UserInputError, match="'ghost' is registered as 'no_such_module:Thing'.*no_such_module"
    ):
        registry.get("ghost")


def test_avalanche_arguments_are_checked_at_construction():
    """A4, A7, A9, A19, A21."""
    avalanche = pytest.importorskip("benchmark.integrations.avalanche")
    with pytest.raises(UserInputError, match="Did you mean 'quick'"):
        avalanche.DistilledMemory("random", 1, profile="quik")
    with pytest.raises(UserInputError, match="max_size"):
        avalanche.DistilledBuffer(-1, "random", ipc=1)
    for seed in (-5, 2**80):
        with pytest.raises(UserInputError, match="seed"):
            avalanche.DistilledMemory("random", 1, seed=seed)
    with pytest.raises(UserInputError, match="std positive"):
        avalanche.DistilledMemory("random", 1, mean=(0.5,), std=(0.0,))
    with pytest.raises(UserInputError, match="DSA family"):
        avalanche.DistilledMemory("random", 1, dsa="bogus")


@pytest.mark.parametrize(
    "images,labels,memory,match",
    [
        (torch.rand(4, 1, 8, 8), torch.tensor([-1, -1, 0, 0]), {}, "label -1; class ids must be 0 or more"),
        (torch.rand(4, 1, 8, 8), torch.tensor([0.5, 0.5, 1.5, 1.5]), {}, "fractions .*integer class ids"),
        (torch.rand(6, 1, 8, 8), torch.tensor([0, 0, 0, 1, 1, 1]), {"ipc": 5}, "ipc 5 is more than the 3"),
        (torch.rand(7, 1, 8, 8), torch.tensor([0] * 6 + [1]), {"ipc": 2}, "ipc 2 is more than the 1 images"),
        (torch.rand(4, 1, 8, 8), torch.tensor([0, 0, 1, 1]), {"mean": (0.5,) * 3, "std": (0.2,) * 3},
         "mean has 3 values but the images have 1 channel"),
        (torch.rand(4, 1, 2, 2), torch.tensor([0, 0, 1, 1]), {"strategy": "dm:iterations=1"},
         "could not be fitted to this experience's 2×2 images"),
    ],
)  # fmt: skip
def test_avalanche_experiences_are_checked_before_any_fit(images, labels, memory, match):
    """A13, A14, A15, A18, A22, A25: one line each, no traceback, nothing silently truncated."""
    avalanche = pytest.importorskip("benchmark.integrations.avalanche")
    settings = {"strategy": "random", "ipc": 1} | memory
    strategy, ipc = settings.pop("strategy"), settings.pop("ipc")
    store = avalanche.DistilledMemory(strategy, ipc, dataset="digits", augmentation=None, **settings)
    with pytest.raises(UserInputError, match=match):
        store.add_experience(torch.utils.data.TensorDataset(images, labels), torch.device("cpu"))


def test_avalanche_experiences_keep_one_image_shape():
    """A16: a second experience of another image shape is one line, not a torch.cat traceback."""
    avalanche = pytest.importorskip("benchmark.integrations.avalanche")
    memory = avalanche.DistilledMemory("random", 1, dataset="digits", augmentation=None)
    first = torch.utils.data.TensorDataset(torch.rand(2, 1, 8, 8), torch.tensor([0, 1]))
    memory.add_experience(first, torch.device("cpu"))
    second = torch.utils.data.TensorDataset(torch.rand(2, 1, 6, 6), torch.tensor([2, 3]))
    shapes = r"experience's images are \(1, 6, 6\), the memory's \(1, 8, 8\)"
    with pytest.raises(UserInputError, match=shapes):
        memory.add_experience(second, torch.device("cpu"))


def test_a_second_run_into_a_folder_in_use_is_refused_in_one_line(tmp_path):
    """N9: a second run into a store another run is writing would read its half-finished cells."""
    import fcntl

    from benchmark.options import RunOptions
    from benchmark.runner import run

    options = RunOptions(profile="smoke", strategies=["random"], output_dir=tmp_path, show_progress=False)
    with open(tmp_path / ".run.lock", "a") as other_run:
        fcntl.flock(other_run, fcntl.LOCK_EX)
        with pytest.raises(UserInputError, match="another run is writing to .*give another --output-dir"):
            run(options)
    assert not any((tmp_path / "records").rglob("*.json"))  # refused before any work
    (table,) = run(options)  # released: the run goes ahead
    assert not table.frame().empty
