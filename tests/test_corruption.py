"""Corrupted test sets (official layout, generation with corrupt-tta) and the corruption suite."""

from __future__ import annotations

import sys

import numpy as np
import pytest
import torch

import benchmark.corruptions.generate as generate_module
import benchmark.training.evaluate as evaluate_module
from benchmark.corruptions import ALL, STANDARD
from benchmark.corruptions.official import load_official, official_folder
from benchmark.corruptions.testsets import corrupted_test_sets, from_uint8, subset_indices, to_uint8
from benchmark.data.classdata import ClassData, Split
from benchmark.data.normalize import normalize
from benchmark.engine import Engine
from benchmark.options import RunOptions
from benchmark.profiles import Profile
from benchmark.registries import SUITES
from benchmark.report.tables import build_tables
from benchmark.suites.corruption import CorruptionSuite
from benchmark.training.evaluate import per_class_subset

N = 6  # images per severity in the tiny official files


def write_official(root, labels_rows: int = 5 * N):
    """Tiny CIFAR-10-C files: pixel [0, 0, 0] of row i of severity s is 10·s + i."""
    folder = root / "CIFAR-10-C"
    folder.mkdir(parents=True)
    images = np.zeros((5 * N, 32, 32, 3), dtype=np.uint8)
    for s in range(1, 6):
        for i in range(N):
            images[(s - 1) * N + i] = 10 * s + i
    np.save(folder / "gaussian_noise.npy", images)
    labels = np.arange(N) % 3
    np.save(folder / "labels.npy", np.tile(labels, labels_rows // N))
    return folder, labels


@pytest.mark.parametrize("labels_rows", [5 * N, N])
def test_official_loader_slices_severities(tmp_path, labels_rows):
    folder, labels = write_official(tmp_path, labels_rows)
    assert official_folder("cifar10", tmp_path) == folder
    assert official_folder("fashion_mnist", tmp_path) is None
    for severity in range(1, 6):
        images, got = load_official(folder, "gaussian_noise", severity)
        assert images.shape == (N, 32, 32, 3) and images.dtype == np.uint8
        assert images[:, 0, 0, 0].tolist() == [10 * severity + i for i in range(N)]
        assert got.tolist() == labels.tolist()
    images, got = load_official(folder, "gaussian_noise", 4, indices=np.array([1, 5]))
    assert images[:, 5, 5, 2].tolist() == [41, 45] and got.tolist() == [labels[1], labels[5]]


def tiny_cifar(n: int = N) -> ClassData:
    labels = torch.arange(n) % 3
    mean, std = (0.5, 0.4, 0.3), (0.25, 0.25, 0.25)
    test = Split(normalize(from_uint8(np.full((n, 32, 32, 3), 7, np.uint8)), mean, std), labels)
    return ClassData("cifar10", ["a", "b", "c"], (3, 32, 32), mean, std, test, test, test)


def test_official_files_feed_the_test_sets(tmp_path):
    write_official(tmp_path)
    data = tiny_cifar()
    sets = corrupted_test_sets(data, ["gaussian_noise"], [2, 5], 1, tmp_path / "cache", data_root=tmp_path)
    assert sets.source == "official"
    keep = subset_indices(data.test.labels, 1)
    assert torch.equal(sets.clean.labels, data.test.labels[keep])
    for severity in (2, 5):
        split = sets.split(("gaussian_noise", severity))
        raw = to_uint8(data.to_pixels(split.images))
        assert raw[:, 0, 0, 0].tolist() == [10 * severity + int(i) for i in keep]
        assert torch.equal(split.labels, sets.clean.labels)
        net = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(3 * 32 * 32, 3))
        pair = ("gaussian_noise", severity)
        assert sets.accuracy(net, pair, batch_size=2) == evaluate_module.test_accuracy(net, split)


def test_subset_indices_match_per_class_subset(digits):
    for per_class in (0, 3):
        keep = subset_indices(digits.test.labels, per_class)
        expected = per_class_subset(digits.test, per_class)
        assert torch.equal(digits.test.images[keep], expected.images)


def test_uint8_round_trip(digits):
    raw = to_uint8(digits.to_pixels(digits.test.images[:5]))
    assert raw.dtype == np.uint8 and raw.shape == (5, 8, 8, 1)
    assert np.array_equal(to_uint8(digits.to_pixels(digits.from_pixels(from_uint8(raw)))), raw)


def test_every_corruption_on_gray_images_is_deterministic():
    pytest.importorskip("corrupt_tta")
    images = np.random.default_rng(0).integers(0, 256, size=(2, 8, 8, 1), dtype=np.uint8)
    for corruption in ALL:
        first = generate_module.corrupt_images(images, corruption, 5, seed=3)
        assert first.shape == images.shape and first.dtype == np.uint8, corruption
        second = generate_module.corrupt_images(images, corruption, 5, seed=3)
        assert np.array_equal(first, second), corruption
    noisy = [generate_module.corrupt_images(images, "impulse_noise", 5, seed=s) for s in (1, 2)]
    assert not np.array_equal(*noisy)  # the seed reaches scikit-image's generator too


def test_generation_deterministic_cached_and_parallel(tmp_path, monkeypatch):
    pytest.importorskip("corrupt_tta")
    images = np.random.default_rng(1).integers(0, 256, size=(70, 8, 8, 1), dtype=np.uint8)  # 2 chunks
    describe = {"dataset": "tiny", "subset": 0}
    pairs = ["gaussian_noise", "impulse_noise", "glass_blur"]
    first = generate_module.cached_corruptions(images, describe, pairs, [1, 5], tmp_path / "a", workers=1)
    again = generate_module.cached_corruptions(images, describe, pairs, [1, 5], tmp_path / "b", workers=2)
    assert list(first) == [(c, s) for c in pairs for s in (1, 5)]
    for pair in first:
        assert np.array_equal(first[pair], again[pair]), pair  # same with 1 or 2 worker processes
    assert len(list((tmp_path / "a" / "cache" / "corruptions").glob("*.json"))) == 6

    def no_generation(*args, **kwargs):
        raise AssertionError("regenerated although cached")

    monkeypatch.setattr(generate_module, "generate", no_generation)
    cached = generate_module.cached_corruptions(images, describe, pairs, [1, 5], tmp_path / "a", workers=1)
    assert all(np.array_equal(cached[p], first[p]) for p in first)
    with pytest.raises(AssertionError, match="regenerated"):  # another subset is another key
        generate_module.cached_corruptions(images, describe | {"subset": 1}, pairs, [1], tmp_path / "a")


def test_missing_corrupt_tta_is_one_clear_error(monkeypatch):
    monkeypatch.setitem(sys.modules, "corrupt_tta", None)
    with pytest.raises(ImportError, match="pip install corrupt-tta"):
        generate_module.require_corrupt_tta()


def tiny_profile(corruptions=ALL, severities=(1, 3)) -> Profile:
    return Profile(
        "test",
        "tiny",
        {
            "corruption": {
                "datasets": ["digits"],
                "strategies": ["random"],
                "ipc": [1],
                "seeds": [0],
                "networks": ["ConvNet", "ResNet18"],
                "repeats": 1,
                "corruptions": list(corruptions),
                "severities": list(severities),
                "workers": 1,
                "recipes": {
                    "default": {"epochs": 2, "lr": 0.01, "dsa": None, "test_subset": 2},
                    "ConvNet": {"network_options": {"width": 8}},
                    "ResNet18": {"network_options": {"widths": [4, 4, 4, 4]}},
                },
            }
        },
    )


def run_suite(tmp_path, profile):
    options = RunOptions(suite="corruption", output_dir=tmp_path / "out", device="cpu", show_progress=False)
    engine = Engine(options.engine, profile)
    suite = CorruptionSuite(options, profile, engine)
    for cell in suite.cells():
        suite.run_cell(cell)
    return suite, engine


def test_suite_trains_each_network_once_and_tests_every_corruption(tmp_path, monkeypatch):
    pytest.importorskip("corrupt_tta")
    assert SUITES.get("corruption") is CorruptionSuite
    calls = []
    original = evaluate_module.train_network

    def counting(net, *args, **kwargs):
        calls.append(kwargs.get("desc"))
        return original(net, *args, **kwargs)

    monkeypatch.setattr(evaluate_module, "train_network", counting)
    suite, bench = run_suite(tmp_path, tiny_profile())
    assert sorted(calls) == ["ConvNet", "ResNet18"]  # one training per network and buffer
    records = bench.store.records("corruption")
    assert len(records) == 2
    for record in records:
        metrics = record.metrics
        assert {f"accuracy/{c}/{s}" for c in ALL for s in (1, 3)} <= set(metrics)
        assert len(metrics) == 19 * 2 + 3
        standard = [metrics[f"accuracy/{c}/{s}"] for c in STANDARD for s in (1, 3)]
        assert metrics["accuracy/mean15"] == pytest.approx(np.mean(standard))
        assert record.config["corruptions"]["source"].startswith("corrupt-tta==")

    (table,) = build_tables(records)  # what run, show and the leaderboard print
    frame = table.frame()
    assert list(frame.columns) == ["clean", "mean15", "mean19", *ALL, "storage / budget"]
    assert frame.index.names == ["label", "ipc", "network"] and len(frame) == 2

    calls.clear()  # resumes: nothing trained or generated again
    monkeypatch.setattr(generate_module, "generate", lambda *a, **k: pytest.fail("regenerated"))
    run_suite(tmp_path, tiny_profile())
    assert calls == [] and len(bench.store.records("corruption")) == 2


def test_fewer_corruptions_leave_out_the_means(tmp_path):
    pytest.importorskip("corrupt_tta")
    _, bench = run_suite(tmp_path, tiny_profile(["contrast", "fog"], [2]))
    metrics = bench.store.records("corruption")[0].metrics
    assert set(metrics) == {"accuracy", "accuracy/contrast/2", "accuracy/fog/2"}


def test_unknown_corruption_is_an_error(tmp_path):
    with pytest.raises(ValueError, match="unknown corruptions"):
        run_suite(tmp_path, tiny_profile(["rain"]))
