"""What a user touches after a run: exported images, the pandas frame, --version, the log file,
file modes."""

from __future__ import annotations

import csv
import json
import os
import stat

import numpy as np
import pytest
import torch
from PIL import Image

from benchmark.buffer import Buffer
from benchmark.cli import main
from benchmark.data import DatasetOptions, load_dataset
from benchmark.data.normalize import denormalize

SMOKE = ["--profile", "smoke", "--no-progress", "--device", "cpu"]


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    out = tmp_path_factory.mktemp("users") / "results"
    args = ["run", *SMOKE, "--strategies", "random", "--ipc", "1", "--repeats", "2", "--output-dir", str(out)]
    old = os.umask(0o022)
    try:
        assert main(["--log-file", str(out.parent / "run.log"), *args]) == 0
    finally:
        os.umask(old)
    return out


def test_export_png_gives_the_real_images_back(folder, tmp_path):
    """A random buffer holds real training images: its PNGs must be those images, normalisation undone."""
    (path,) = folder.glob("buffers/random/*.safetensors")
    assert main(["export", str(path), "--format", "png", "--output-dir", str(tmp_path / "png")]) == 0
    buffer = Buffer.load(path)
    images, labels, _ = buffer.materialize()
    data = load_dataset("digits", DatasetOptions(cache_dir=folder))
    expected = denormalize(images, data.mean, data.std).clamp(0, 1)
    with open(tmp_path / "png" / "labels.csv") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == len(images) == 10
    for i, row in enumerate(rows):
        picture = np.asarray(Image.open(tmp_path / "png" / row["file"]), dtype=np.float32) / 255
        assert picture.shape == (8, 8)  # grey 8 × 8 digits open as ordinary images
        assert np.abs(picture - expected[i, 0].numpy()).max() <= 1 / 255 + 1e-6
        assert int(row["label"]) == int(labels[i])


def test_export_npz_holds_labels_class_names_and_lr(folder, tmp_path):
    (path,) = folder.glob("buffers/random/*.safetensors")
    assert main(["export", str(path), "--format", "npz", "--output-dir", str(tmp_path)]) == 0
    (archive,) = tmp_path.glob("*.npz")
    content = np.load(archive)
    assert content["images"].dtype == np.float32 and content["images"].shape == (10, 1, 8, 8)  # as trained on
    assert sorted(content["labels"].tolist()) == list(range(10))
    assert len(content["class_names"]) == 10
    assert json.loads((tmp_path / "buffer.json").read_text())["manifest"]["strategy"] == "random"


def test_load_is_one_call_with_units_numbers_and_provenance(folder):
    from benchmark.results import load

    frame = load(folder)
    accuracy = frame[frame.metric == "accuracy"]
    assert len(accuracy) == 2  # two networks
    assert accuracy.value_pct.between(0, 100).all() and accuracy.value_pct.max() > 1  # percent
    assert str(frame.ipc.dtype) == "Int64"
    for column in ("git_commit", "created", "distill_s", "evaluate_s", "threads", "device", "storage_floats"):
        assert column in frame.columns, column
    assert (frame.threads == torch.get_num_threads()).all()


def test_version_and_log_file(folder, capsys):
    with pytest.raises(SystemExit) as leaving:
        main(["--version"])
    assert leaving.value.code == 0 and capsys.readouterr().out.startswith("distill-benchmark ")
    log = (folder.parent / "run.log").read_text()
    assert "done in" in log and "standard random ipc=1 seed=0" in log


def test_files_follow_the_umask_so_the_group_can_read_them(folder):
    for path in [*folder.glob("records/*/*.json"), *folder.glob("buffers/*/*.safetensors")]:
        mode = stat.S_IMODE(path.stat().st_mode)
        assert mode & stat.S_IRGRP and mode & stat.S_IROTH, (path, oct(mode))
