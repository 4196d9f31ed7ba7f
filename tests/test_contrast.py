"""`contrast`: strategy differences with Welch intervals over distillation seeds."""

from __future__ import annotations

import math

import pytest
from scipy import stats

from benchmark.errors import UserInputError
from benchmark.report.commands import CONTRAST, run_contrast
from benchmark.report.contrast import contrast_frame, welch_interval
from benchmark.results.record import Record
from benchmark.results.store import ResultStore


def record(spec, seed, repeat, accuracy, ipc=1, status="ok"):
    config = {
        "dataset": "fashion_mnist", "suite": "standard", "profile": "quick", "spec": spec,
        "strategy": spec.split(":")[0], "ipc": ipc, "network": "ConvNet",
        "eval_recipe": {"epochs": 5}, "step": None, "steps": None, "class_order": None,
        "distill_seed": seed, "repeat": repeat, "eval_seed": repeat,
    }  # fmt: skip
    metrics = {"accuracy": accuracy} if status == "ok" else {}
    return Record(config, status, metrics=metrics, storage=7000, budget=7840)


# accuracy per distillation seed, three evaluation networks each
NETWORKS = {
    "dm": [[0.70, 0.72, 0.71], [0.69, 0.70, 0.71], [0.72, 0.73, 0.71]],
    "random": [[0.49, 0.48, 0.49], [0.50, 0.50, 0.48], [0.45, 0.46, 0.44]],
    "speed:objective=dm": [[0.71, 0.70, 0.72], [0.70, 0.69, 0.71]],
}


@pytest.fixture
def store(tmp_path):
    store = ResultStore(tmp_path)
    for spec, seeds in NETWORKS.items():
        for seed, values in enumerate(seeds):
            for repeat, value in enumerate(values):
                store.put(record(spec, seed, repeat, value))
    store.put(record("dm", 3, 0, None, status="failed"))  # failed networks are no observation
    store.put(record("dm", 0, 0, 0.99, ipc=10))  # another cell: never pooled with IPC 1
    return store


def test_welch_interval_matches_scipy():
    a, b = [64.9, 53.7, 57.4], [71.0, 70.7, 71.9]
    difference, low, high = welch_interval(a, b)
    expected = stats.ttest_ind(a, b, equal_var=False).confidence_interval(0.95)
    assert difference == pytest.approx(sum(a) / 3 - sum(b) / 3)
    assert (low, high) == pytest.approx((expected.low, expected.high))
    one_seed = welch_interval([1.0], [2.0, 3.0])
    assert one_seed[0] == -1.5 and math.isnan(one_seed[1]) and math.isnan(one_seed[2])
    assert welch_interval([2.0, 2.0], [1.0, 1.0]) == (1.0, 1.0, 1.0)


def test_seed_means_are_the_observations(store):
    frame = contrast_frame(store.records(), baselines=["dm"])
    ipc1 = frame[frame["ipc"] == 1].set_index("strategy")
    assert set(ipc1.index) == {"random", "speed:objective=dm"}
    random = ipc1.loc["random"]
    seed_means = [100 * sum(v) / 3 for v in NETWORKS["random"]]
    dm_means = [100 * sum(v) / 3 for v in NETWORKS["dm"]]
    expected = stats.ttest_ind(seed_means, dm_means, equal_var=False).confidence_interval(0.95)
    assert (random["seeds"], random["baseline_seeds"]) == (3, 3)
    assert random["ci_low"] == pytest.approx(expected.low) and random["ci_high"] == pytest.approx(
        expected.high
    )
    # random lies clearly below DM
    assert random["verdict"] == "behind"
    assert ipc1.loc["speed:objective=dm", "verdict"] == "no clear difference"
    # IPC 10 has one strategy only: nothing to compare
    assert frame[frame["ipc"] == 10].empty


def test_all_pairs_put_the_higher_mean_first(store):
    frame = contrast_frame(store.records())
    pairs = set(zip(frame["strategy"], frame["baseline"], strict=True))
    assert pairs == {("dm", "random"), ("speed:objective=dm", "random"), ("dm", "speed:objective=dm")}
    assert (frame["difference"] >= 0).all()


def test_two_baselines_are_compared_once(store):
    frame = contrast_frame(store.records(), baselines=["dm", "random"])
    pairs = list(zip(frame["strategy"], frame["baseline"], strict=True))
    assert pairs == [("random", "dm"), ("speed:objective=dm", "dm"), ("speed:objective=dm", "random")]


def test_too_few_seeds(tmp_path):
    store = ResultStore(tmp_path)
    for spec, value in (("dm", 0.7), ("random", 0.5)):
        for repeat in range(3):
            store.put(record(spec, 0, repeat, value))
    row = contrast_frame(store.records()).iloc[0]
    assert row["verdict"] == "too few seeds" and math.isnan(row["ci_low"])
    assert row["difference"] == pytest.approx(20.0)


def test_command(store, tmp_path, capsys):
    class Args:
        output_dir = tmp_path
        baseline = "dm"
        level = 0.95

    assert CONTRAST.run(Args()) == 0
    out = capsys.readouterr().out
    assert "random − dm: -" in out and "behind" in out
    assert (tmp_path / "tables" / "contrast.csv").is_file()
    with pytest.raises(UserInputError, match="--baseline pixels.*use one of dm, random, speed:objective=dm"):
        run_contrast(tmp_path, ["pixels"], 0.95)
    Args.level = 95
    with pytest.raises(UserInputError, match="--level 95"):
        CONTRAST.run(Args())


def test_continual_steps_are_contrasted_step_by_step(tmp_path):
    store = ResultStore(tmp_path)
    for spec, base in (("dm", 0.70), ("random", 0.50)):
        for seed in range(2):
            for step in range(2):
                config = record(spec, seed, 0, None).config | {
                    "suite": "continual", "step": step, "steps": 2, "class_order": 0,
                }  # fmt: skip
                value = base - 0.1 * step + 0.01 * seed
                store.put(Record(config, "ok", metrics={"accuracy": value}, storage=10, budget=10))
    frame = contrast_frame(store.records(), baselines=["random"])
    assert sorted(frame["step"].tolist()) == [0, 1]
    assert frame["difference"].tolist() == pytest.approx([20.0, 20.0])
