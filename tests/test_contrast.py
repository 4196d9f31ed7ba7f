"""`contrast`: strategy differences with Welch intervals over distillation seeds."""

from __future__ import annotations

import math

import pytest
from scipy import stats

from benchmark.errors import UserInputError
from benchmark.report.commands import CONTRAST, run_contrast
from benchmark.report.contrast import (
    contrast_frame,
    format_contrast,
    holm,
    holm_interval_level,
    paired_interval,
    paired_p_value,
    rank_groups,
    welch_interval,
    welch_p_value,
)
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
    speed_means = [100 * sum(v) / 3 for v in NETWORKS["speed:objective=dm"]]
    # two comparisons with dm in this cell: Holm tests the smaller p (random's) at 0.05 / 2
    test = stats.ttest_ind(seed_means, dm_means, equal_var=False)
    other = stats.ttest_ind(speed_means, dm_means, equal_var=False)
    assert test.pvalue < other.pvalue
    assert random["p_holm"] == pytest.approx(2 * test.pvalue)
    expected = test.confidence_interval(1 - 0.05 / 2)
    assert ipc1.loc["speed:objective=dm", "p_holm"] == pytest.approx(max(2 * test.pvalue, other.pvalue))
    assert (random["seeds"], random["baseline_seeds"]) == (3, 3)
    assert random["ci_low"] == pytest.approx(expected.low) and random["ci_high"] == pytest.approx(
        expected.high
    )
    # random lies clearly below DM
    assert random["verdict"] == "behind"
    assert ipc1.loc["speed:objective=dm", "verdict"] == "no clear difference"
    # IPC 10 has one strategy only: nothing to compare
    assert frame[frame["ipc"] == 10].empty


def test_holm_adjustment_and_the_interval_level_it_implies():
    assert holm([0.01, 0.04, 0.03]) == pytest.approx([0.03, 0.06, 0.06])  # × 3, × 1 raised to 0.06, × 2
    assert holm([0.5, math.nan, 0.2]) == pytest.approx([0.5, math.nan, 0.4], nan_ok=True)  # NaN not counted
    assert holm([0.9, 0.8]) == [1.0, 1.0]
    # the interval level: 1 − α/(m − i + 1) on the step-down, wider once a comparison stopped it
    assert holm_interval_level(0.01, 0.03, 0.95) == pytest.approx(1 - 0.05 / 3)
    assert holm_interval_level(0.04, 0.06, 0.95) == pytest.approx(1 - 0.05 * 0.04 / 0.06)
    a, b = [70.0, 71.0, 72.0], [60.0, 61.5, 62.0]
    p_value = welch_p_value(a, b)
    assert p_value == pytest.approx(stats.ttest_ind(a, b, equal_var=False).pvalue)
    # an interval excludes 0 exactly when the adjusted p-value is below 1 − level
    for adjusted in (p_value * 2, 0.049, 0.051):
        _, low, _ = welch_interval(a, b, holm_interval_level(p_value, adjusted, 0.95))
        assert (low > 0) == (adjusted < 0.05)
    assert math.isnan(welch_p_value([1.0], [2.0, 3.0])) and welch_p_value([2.0, 2.0], [1.0, 1.0]) == 0.0


def test_rank_groups_share_the_top_rank_until_an_interval_excludes_zero():
    observations = {
        "speed": [71.95, 71.82, 72.35],  # the claim data's seeds: speed and dm are not told apart
        "dm": [72.07, 70.50, 71.40],
        "far": [50.0, 50.5, 49.5],
        "farther": [40.0, 40.2, 39.8],
        "one seed": [10.0],  # no interval: never separated from a leader
    }
    ranks, comparisons = rank_groups(observations)
    assert ranks == {"speed": 1, "dm": 1, "one seed": 1, "far": 4, "farther": 5}
    first = [c for c in comparisons if c["leader"] == "speed"]
    assert [c["other"] for c in first] == ["dm", "far", "farther", "one seed"]
    dm = first[0]
    assert dm["difference"] == pytest.approx(0.7166667, abs=1e-6) and dm["verdict"] == "no clear difference"
    assert dm["ci_low"] < 0 < dm["ci_high"]
    # chains: the next group is led by the best method left, compared with those left only
    assert [(c["leader"], c["other"]) for c in comparisons[len(first):]] == [("far", "farther")]
    assert rank_groups({"a": [1.0, 1.0], "b": [1.0, 1.0]})[0] == {"a": 1, "b": 1}  # equal: one rank


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
    steps = frame[frame["measure"] == "accuracy"]
    assert sorted(steps["step"].tolist()) == [0, 1]
    assert steps["difference"].tolist() == pytest.approx([20.0, 20.0])
    (average,) = frame[frame["measure"] == "average incremental"].itertuples()
    assert average.difference == pytest.approx(20.0) and average.seeds == 2


def test_continual_class_orders_are_observations_paired_by_order(tmp_path):
    store = ResultStore(tmp_path)
    gaps = {0: 0.05, 1: 0.02, 2: 0.04}  # dm − random per class order, one distillation seed
    for spec, base in (("dm", 0.70), ("random", 0.60)):
        for order, gap in gaps.items():
            for step in range(2):
                config = record(spec, 0, 0, None).config | {
                    "suite": "continual", "step": step, "steps": 2, "class_order": order,
                }  # fmt: skip
                value = base + (gap if spec == "dm" else 0.0) + 0.01 * order - 0.1 * step
                store.put(Record(config, "ok", metrics={"accuracy": value}, storage=10, budget=10))
    frame = contrast_frame(store.records(), baselines=["random"])
    (average,) = frame[frame["measure"] == "average incremental"].itertuples()
    assert (average.seeds, average.baseline_seeds, average.paired_seeds) == (3, 3, 3)
    d = [100 * (0.10 + g) for g in gaps.values()]
    mean, low, high = paired_interval(d)
    assert average.paired_difference == pytest.approx(mean)
    assert (average.paired_low, average.paired_high) == pytest.approx((low, high))
    assert "average incremental" in format_contrast(frame)


def test_paired_by_seed_intervals_use_the_seeds_both_sides_share(store):
    a, b = [71.95, 71.82, 72.35], [70.17, 68.58, 68.63]
    d = [x - y for x, y in zip(a, b, strict=True)]
    mean, low, high = paired_interval(d)
    expected = stats.ttest_rel(a, b)
    assert mean == pytest.approx(sum(d) / 3)
    assert (low, high) == pytest.approx(tuple(expected.confidence_interval(0.95)))
    assert paired_p_value(d) == pytest.approx(expected.pvalue)
    assert math.isnan(paired_interval([1.0])[1]) and math.isnan(paired_p_value([1.0]))
    frame = contrast_frame(store.records(), baselines=["dm"])
    ipc1 = frame[frame["ipc"] == 1].set_index("strategy")
    # speed:objective=dm has seeds 0 and 1 only: paired on those two, Holm over the cell's two pairs
    assert ipc1["paired_seeds"].to_dict() == {"random": 3, "speed:objective=dm": 2}
    seed_mean = {k: [100 * sum(v) / len(v) for v in seeds] for k, seeds in NETWORKS.items()}
    random_d = [r - m for r, m in zip(seed_mean["random"], seed_mean["dm"], strict=True)]
    speed_d = [s - m for s, m in zip(seed_mean["speed:objective=dm"], seed_mean["dm"][:2], strict=False)]
    assert speed_d == [0.0, 0.0] and paired_p_value(speed_d) == 1.0  # no difference on any seed: p = 1
    holm_expected = holm([stats.ttest_1samp(random_d, 0).pvalue, 1.0])
    assert ipc1.loc["random", "paired_p_holm"] == pytest.approx(holm_expected[0])
    assert ipc1.loc["speed:objective=dm", "paired_p_holm"] == pytest.approx(holm_expected[1])
    assert ipc1.loc["random", "paired_difference"] == pytest.approx(sum(random_d) / 3)
    assert ipc1.loc["random", "paired_verdict"] == "behind"
