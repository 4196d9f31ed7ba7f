"""Soft labels end to end: the continual suite's memory with the soft_random plugin, the leaderboard's
mark on soft-label rows, and an export read back as an outside set with its labels bit for bit."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest
import torch

from benchmark.buffer import SoftLabels
from benchmark.pixels import pixel_buffer
from benchmark.training.evaluate import soft_label_loss

ROOT = Path(__file__).resolve().parents[1]
SOFT_RANDOM = "soft_random:teacher_steps=50:teacher_width=32:temperature=4.0"  # a short teacher


def test_the_continual_memory_trains_on_soft_labels_and_the_leaderboard_marks_them(tmp_path, monkeypatch):
    import benchmark.training.evaluate as evaluate
    from benchmark.cli import main
    from benchmark.report.commands import build_leaderboard
    from benchmark.results.store import ResultStore

    calls = []
    monkeypatch.setattr(evaluate, "soft_label_loss", lambda *a: calls.append(a[1:]) or soft_label_loss(*a))
    out = tmp_path / "results"
    args = ["--plugin", str(ROOT / "examples" / "soft_random.py"), "run", "--suite", "continual",
            "--profile", "smoke", "--no-progress", "--device", "cpu",
            "--strategies", "soft_random:teacher_steps=50,random", "--ipc", "2",
            "--output-dir", str(out)]  # fmt: skip
    assert main(args) == 0
    records = ResultStore(out).records("continual")
    soft = sorted((r for r in records if r.config["spec"] == SOFT_RANDOM), key=lambda r: r.config["step"])
    hard = [r for r in records if r.config["spec"] == "random"]
    assert [r.config["step"] for r in soft] == list(range(5)) and len(hard) == 5
    assert all(r.status == "ok" for r in records)
    # one image per class with its step's 2 logits: 2 × (64 + 2) per step, the memory grows by it
    assert [r.storage for r in soft] == [132.0 * (t + 1) for t in range(5)]
    assert all(r.soft_labels == {"kind": "probabilities", "temperature": 4.0, "loss": "kl"} for r in soft)
    assert all(r.soft_labels is None for r in hard)
    # every batch trained at the logits' temperature, on targets from one step: 2 nonzero columns of 10
    assert calls and {temperature for _, temperature in calls} == {4.0}
    for targets, _ in calls:
        assert targets.shape[1] == 10 and torch.allclose(targets.sum(1), torch.ones(len(targets)))
        assert ((targets > 0).sum(1) == 2).all()
    assert max(len(targets) for targets, _ in calls) == 10  # the last step's memory: all ten classes
    from benchmark.report.tables import build_tables, table_csv_frame

    long = pd.concat([table_csv_frame(table) for table in build_tables(records)])  # tables/*.csv
    assert set(long.loc[long["strategy"] == "soft_random", "soft_labels"]) == {True}
    assert set(long.loc[long["strategy"] == "random", "soft_labels"]) == {False}
    from benchmark.results.frame import results_frame

    public = results_frame(records)  # show --format csv, results.table
    assert public.groupby("strategy")["soft_labels"].agg(set).to_dict() == {"soft_random": {True},
                                                                           "random": {False}}  # fmt: skip
    pages = build_leaderboard(out, figures=False)
    markdown, html = pages["markdown"].read_text(), pages["html"].read_text()
    rows = {line.split(" | ")[1]: line for line in markdown.splitlines() if "/ 1,280" in line}
    assert rows["soft_random"].endswith("| 660 / 1,280 (soft labels) |")
    assert rows["random"].endswith("| 1,280 / 1,280 |")
    html_rows = {line.split('data-strategy="')[1].split('"')[0]: line
                 for line in html.splitlines() if line.startswith("<tr data-row")}  # fmt: skip
    assert "<td>660 / 1,280 (soft labels)</td>" in html_rows["soft_random"]
    assert "<td>1,280 / 1,280</td>" in html_rows["random"] and "soft labels" not in html_rows["random"]


@pytest.mark.parametrize("fmt", ["npz", "pt"])
@pytest.mark.parametrize(
    ("kind", "dtype"), [("probabilities", torch.float32), ("logits", torch.bfloat16)], ids=["f32", "bf16"]
)
def test_an_export_reads_back_with_its_soft_labels_bit_for_bit(digits, tmp_path, fmt, kind, dtype):
    from benchmark.export import export_buffer
    from benchmark.external import read_outside_set

    images = torch.cat([digits.train.of_class(c)[:2] for c in digits.classes])
    values = torch.randn(len(images), 10, generator=torch.Generator().manual_seed(0))
    if kind == "probabilities":
        values = torch.softmax(values, 1)
    soft = SoftLabels(values.to(dtype), tuple(digits.classes), kind, 3.0)
    buffer = pixel_buffer(images, digits.classes, soft)
    buffer.manifest.update(dataset="digits", mean=list(digits.mean), std=list(digits.std),
                           class_names=[digits.class_names[c] for c in digits.classes])  # fmt: skip
    export_buffer(buffer, tmp_path / fmt, fmt)
    outside = read_outside_set(tmp_path / fmt / f"buffer.{fmt}", "preprocessed", digits)
    read = outside.soft_labels
    assert (read.kind, read.temperature, read.classes) == (kind, 3.0, tuple(digits.classes))
    # at the stored dtype (an .npz keeps bfloat16's bit patterns), so the set re-scores at the same storage
    assert read.values.dtype == dtype
    assert torch.equal(read.values, buffer.tensors["soft_labels"])
    assert outside.storage == buffer.storage
    again = tmp_path / "again"
    export_buffer(buffer, again, fmt)
    assert read_outside_set(again / f"buffer.{fmt}", "preprocessed", digits).sha256 == outside.sha256


@pytest.mark.parametrize("fmt", ["npz", "pt"])
def test_a_continual_step_export_reads_back_with_its_own_columns_and_temperature(digits, tmp_path, fmt):
    from benchmark.export import export_buffer
    from benchmark.external import read_outside_set

    step = (2, 3)  # two columns, not ten; and a temperature float32 cannot hold
    images = torch.cat([digits.train.of_class(c)[:2] for c in step])
    logits = torch.randn(len(images), 2, generator=torch.Generator().manual_seed(1))
    soft = SoftLabels(logits, step, "logits", 0.7)
    buffer = pixel_buffer(images, list(step), soft)
    buffer.manifest.update(dataset="digits", mean=list(digits.mean), std=list(digits.std),
                           class_names=[digits.class_names[c] for c in step])  # fmt: skip
    export_buffer(buffer, tmp_path / fmt, fmt)
    read = read_outside_set(tmp_path / fmt / f"buffer.{fmt}", "preprocessed", digits)
    assert read.labels.tolist() == [2, 2, 3, 3]
    assert (read.soft_labels.classes, read.soft_labels.temperature) == (step, 0.7)
    assert torch.equal(read.soft_labels.values, soft.values)
    assert torch.equal(read.soft_labels.targets(10), soft.targets(10))


@pytest.mark.parametrize(
    ("classes", "message"),
    [([2, 2], "repeat a class"), ([2, 11], "repeat a class or name one digits lacks"),
     ([[2, 3]], "1-D list"), ([0, 1], "labels [2, 3] have no soft_labels column")],
)  # fmt: skip
def test_bad_soft_label_classes_are_one_line(digits, tmp_path, classes, message):
    import numpy as np

    from benchmark.errors import UserInputError
    from benchmark.external import read_outside_set

    images = torch.cat([digits.train.of_class(c)[:2] for c in (2, 3)]).numpy()
    path = tmp_path / "set.npz"
    np.savez(path, images=images, labels=np.array([2, 2, 3, 3]), soft_labels=np.full((4, 2), 0.5, "f4"),
             soft_label_classes=np.array(classes))  # fmt: skip
    with pytest.raises(UserInputError, match=re.escape(message)) as error:
        read_outside_set(path, "preprocessed", digits)
    assert "\n" not in str(error.value)
