import numpy as np
import pandas as pd
import pytest
import torch

from baselines.pixels import real_images_per_class
from benchmark.continual.stream import class_incremental_steps, class_order
from benchmark.data import DatasetOptions, load_dataset
from benchmark.engine import Engine
from benchmark.errors import UserInputError
from benchmark.options import RunOptions
from benchmark.pixels import pixel_buffer
from benchmark.profiles import load_profile
from benchmark.registries import STRATEGIES, SUITES
from benchmark.results import load
from benchmark.results.store import ResultStore
from benchmark.runner import run
from benchmark.seeding import generator
from benchmark.strategy import Strategy
from benchmark.suites.base import Cell
from benchmark.suites.continual import continual_observations

# The quick profile's schedules of a continual step (docs/studies/continual-schedules.md)
SPEED_TM_ITERATIONS, SPEED_TM_INIT_STEPS = 25, 300
SPEED_DM_ITERATIONS, SPEED_DM_INIT_STEPS = 100, 100
TM_ITERATIONS, DM_ITERATIONS = 25, 50

SEEN: list[dict] = []


class SpyStrategy(Strategy):
    """Records the data and budget each step's fit receives."""

    name = "spy"

    def fit(self, data, budget, seed, context):
        SEEN.append(
            {
                "classes": list(data.classes),
                "train_labels": set(data.train.labels.tolist()),
                "val_labels": set(data.val.labels.tolist()),
                "budget": budget.floats,
                "budget_classes": budget.num_classes,
            }
        )
        return pixel_buffer(real_images_per_class(data, budget.ipc, generator(seed)), data.classes)


@pytest.fixture(autouse=True)
def spy_registered():
    STRATEGIES.register("spy", SpyStrategy)
    SEEN.clear()
    yield
    STRATEGIES.unregister("spy")


@pytest.mark.parametrize("seed", [0, 1, 4])
def test_class_orders_equal_numpys(seed):
    np.random.seed(seed)
    assert class_order(seed, 100) == np.random.permutation(100).tolist()


def test_steps_hold_each_class_once_in_order():
    train = torch.arange(100) % 10
    test = torch.arange(50) % 10
    order = class_order(2, 10)
    steps = class_incremental_steps(train, test, order, 5)
    assert [list(s.classes) for s in steps] == [order[i : i + 2] for i in range(0, 10, 2)]
    for step in steps:
        assert set(train[step.train_indices].tolist()) == set(step.classes)
        assert len(step.train_indices) == 20 and len(step.test_indices) == 10
    with pytest.raises(UserInputError, match="does not divide the 10 classes"):
        class_incremental_steps(train, test, order, 3)


class _IndexDataset(torch.utils.data.Dataset):
    """Each item is its own index and label: an avalanche experience then names its images."""

    def __init__(self, labels: torch.Tensor):
        self.targets = labels.tolist()

    def __len__(self) -> int:
        return len(self.targets)

    def __getitem__(self, i: int):
        return i, self.targets[i]


@pytest.mark.parametrize("seed", [0, 3])
def test_steps_equal_avalanches_class_incremental_benchmark(seed):
    from avalanche.benchmarks.scenarios.supervised import class_incremental_benchmark

    generator = torch.Generator().manual_seed(seed)
    train, test = (
        torch.randint(0, 10, (300,), generator=generator),
        torch.randint(0, 10, (90,), generator=generator),
    )
    order = class_order(seed, 10)
    scenario = class_incremental_benchmark(
        {"train": _IndexDataset(train), "test": _IndexDataset(test)}, class_order=order, num_experiences=5
    )
    steps = class_incremental_steps(train, test, order, 5)
    streams = zip(steps, scenario.train_stream, scenario.test_stream, strict=True)
    for step, train_experience, test_experience in streams:
        assert set(step.classes) == set(train_experience.classes_in_this_experience)
        assert step.train_indices.tolist() == sorted(item[0] for item in train_experience.dataset)
        assert step.test_indices.tolist() == sorted(item[0] for item in test_experience.dataset)


def test_each_step_sees_only_its_classes_memory_grows_and_tests_on_seen_classes(tmp_path, monkeypatch):
    import benchmark.engine.evaluation as evaluation_module

    evaluated = []
    original = evaluation_module.train_and_test

    def spy_train(job, *args, **kwargs):
        labels = job.training.labels
        evaluated.append(
            {"labels": labels.tolist(), "test": set(job.test.labels.tolist()), "lr": job.training.lr}
        )
        return original(job, *args, **kwargs)

    monkeypatch.setattr(evaluation_module, "train_and_test", spy_train)
    options = RunOptions(suite="continual", profile="smoke", strategies=["spy"], output_dir=tmp_path,
                         show_progress=False)  # fmt: skip
    (table,) = run(options)
    order = class_order(0, 10)
    steps = [order[i : i + 2] for i in range(0, 10, 2)]
    assert [s["classes"] for s in SEEN] == steps
    for seen, classes in zip(SEEN, steps, strict=True):
        assert seen["train_labels"] == set(classes) and seen["val_labels"] <= set(classes)
        assert seen["budget_classes"] == 2 and seen["budget"] == 2 * 2 * 64
    ipc = load_profile("smoke").settings(SUITES.get("continual"))["ipc"][0]
    for t, evaluation in enumerate(evaluated):
        seen_classes = {c for s in steps[: t + 1] for c in s}
        assert len(evaluation["labels"]) == ipc * 2 * (t + 1)  # grows by each step's budget
        assert set(evaluation["labels"]) == seen_classes
        assert evaluation["test"] == seen_classes
        assert evaluation["lr"] is None  # decision 6: the recipe's lr 0.01, no learned lr
    frame = table.frame()
    assert list(frame.columns[:5]) == ["step 1", "step 2", "step 3", "step 4", "step 5"]
    assert "average incremental" in frame.columns and "final" in frame.columns
    records = sorted((tmp_path / "records" / "continual").glob("*.json"))
    assert len(records) == 5


# ---- the main job's strategies and their schedules -------------------------------------------------


def continual_suite(tmp_path, profile: str, **options):
    opts = RunOptions(suite="continual", profile=profile, output_dir=tmp_path, show_progress=False, **options)
    loaded = load_profile(profile)
    return SUITES.get("continual")(opts, loaded, Engine(opts.engine, loaded))


def test_the_main_job_runs_speed_as_published_beside_pixel_tm(tmp_path):
    for profile in ("quick", "paper"):
        strategies = continual_suite(tmp_path, profile).settings["strategies"]
        assert strategies == ["random", "herding", "dm", "tm", "speed:objective=dm", "speed"]


def test_the_suites_schedules_sit_between_the_spec_and_the_presets(tmp_path):
    suite = continual_suite(tmp_path, "quick")

    def step(spec: str) -> dict:
        return suite.resolve(Cell("fashion_mnist", spec, 3, 0), 2).config

    assert (step("speed")["iterations"], step("speed")["init_steps"], step("speed")["objective"]) == (
        SPEED_TM_ITERATIONS, SPEED_TM_INIT_STEPS, "tm",
    )  # fmt: skip
    dm = step("speed:objective=dm")
    assert (dm["iterations"], dm["init_steps"]) == (SPEED_DM_ITERATIONS, SPEED_DM_INIT_STEPS)
    assert step("tm")["iterations"] == TM_ITERATIONS and step("dm")["iterations"] == DM_ITERATIONS
    assert step("speed:iterations=7")["iterations"] == 7  # the spec's own value wins
    assert step("speed:objective=dm:init_steps=5")["init_steps"] == 5
    assert step("speed:iterations=7")["init_steps"] == SPEED_TM_INIT_STEPS
    assert step("speed")["dim"] == 12  # still planned for the step's 2 classes
    # other suites and profiles keep the strategies' presets
    opts = RunOptions(suite="standard", profile="quick", output_dir=tmp_path, show_progress=False)
    standard = SUITES.get("standard")(opts, load_profile("quick"), Engine(opts.engine, load_profile("quick")))
    assert standard.resolve(Cell("fashion_mnist", "tm", 3, 0), 2).config["iterations"] == 150
    smoke = continual_suite(tmp_path, "smoke")
    assert smoke.resolve(Cell("digits", "speed", 2, 0), 2).config["iterations"] == 3


def test_a_more_specific_suite_setting_wins(tmp_path):
    suite = continual_suite(tmp_path, "smoke")
    suite.strategy_settings = {
        "speed": {"iterations": 4, "init_steps": 6},
        "speed:objective=dm": {"iterations": 5},
        "tm:syn_steps=2": {"iterations": 9},
    }
    tm = suite.resolve(Cell("digits", "speed", 2, 0), 2).config
    dm = suite.resolve(Cell("digits", "speed:objective=dm", 2, 0), 2).config
    assert (tm["iterations"], tm["init_steps"]) == (4, 6)
    assert (dm["iterations"], dm["init_steps"]) == (5, 6)
    assert suite.resolve(Cell("digits", "tm:syn_steps=2", 2, 0), 2).config["iterations"] == 9
    assert suite.resolve(Cell("digits", "tm", 2, 0), 2).config["iterations"] == 3  # syn_steps 3: no match


# ---- per-class accuracy and average forgetting -------------------------------------------------------


def test_every_record_holds_its_accuracy_on_each_class_seen(tmp_path):
    options = RunOptions(suite="continual", profile="smoke", strategies=["spy"], output_dir=tmp_path,
                         show_progress=False)  # fmt: skip
    (table,) = run(options)
    order = class_order(0, 10)
    records = sorted(ResultStore(tmp_path).records("continual"), key=lambda r: r.config["step"])
    test = load_dataset("digits", DatasetOptions()).test  # its class sizes weigh the per-class accuracies
    for record in records:
        seen = sorted(order[: 2 * (record.config["step"] + 1)])
        per_class = {k: v for k, v in record.metrics.items() if k.startswith("accuracy/class/")}
        assert sorted(int(k.rsplit("/", 1)[1]) for k in per_class) == seen
        counts = {c: len(test.class_indices(c)) for c in seen}
        weighted = sum(per_class[f"accuracy/class/{c}"] * counts[c] for c in seen) / sum(counts.values())
        assert weighted == pytest.approx(record.metrics["accuracy"], abs=1e-9)
    frame = load(tmp_path)
    rows = frame[frame["metric"].str.startswith("accuracy/class/")]
    assert len(rows) == 2 + 4 + 6 + 8 + 10 and rows["value_pct"].notna().all()
    shown = table.frame()
    steps = ["step 1", "step 2", "step 3", "step 4", "step 5"]
    assert list(shown.columns[:8]) == [*steps, "average incremental", "final", "average forgetting"]
    assert not any("class" in str(c) for c in shown.columns)
    accuracy = {(r.config["step"], int(k.rsplit("/", 1)[1])): v for r in records
                for k, v in r.metrics.items() if k.startswith("accuracy/class/")}  # fmt: skip
    drops = []
    for t in range(4):
        group = order[2 * t : 2 * t + 2]
        best = max(sum(accuracy[(s, c)] for c in group) / 2 for s in range(t, 4))
        drops.append(best - sum(accuracy[(4, c)] for c in group) / 2)
    expected = 100 * sum(drops) / 4
    assert float(shown["average forgetting"].iloc[0]) == pytest.approx(expected, abs=0.005)


def _rows(run: dict, values: dict[int, dict[int, float]], status: str = "ok") -> list[dict]:
    rows = []
    for step, classes in values.items():
        accuracy = sum(classes.values()) / len(classes)
        rows.append(run | {"step": step, "metric": "accuracy", "value": accuracy, "status": status})
        rows += [run | {"step": step, "metric": f"accuracy/class/{c}", "value": v, "status": status}
                 for c, v in classes.items()]  # fmt: skip
    return rows


def test_average_forgetting_is_the_drop_from_each_earlier_steps_best():
    run = {"label": "x", "spec": "x", "recipe": "suite", "ipc": 1, "network": "ConvNet", "class_order": 0,
           "distill_seed": 0, "repeat": 0, "storage": 1.0, "budget": 1.0}  # fmt: skip
    values = {
        0: {0: 0.9, 1: 0.7},
        1: {0: 0.6, 1: 0.6, 2: 1.0, 3: 0.8},
        2: {0: 0.5, 1: 0.3, 2: 0.7, 3: 0.5, 4: 1, 5: 1},
    }
    frame = pd.DataFrame(
        _rows(run, values)
        + _rows(run | {"repeat": 1}, {0: {0: 0.9, 1: 0.7}, 1: {0: 0.6, 1: 0.6, 2: 1.0, 3: 0.8}}, "failed")
        + [r for r in _rows(run | {"repeat": 2}, values) if r["metric"] == "accuracy"]  # older records
    )
    obs = continual_observations(frame)
    forgetting = obs[obs["column"] == "average forgetting"].set_index("repeat")
    # steps 0 and 1's classes: (0.8 best at step 0 − 0.4 at the last) and (0.9 − 0.6), averaged
    assert forgetting.loc[0, "value"] == pytest.approx(0.35)
    assert forgetting.loc[0, "metric"].startswith("accuracy")  # shown in points
    assert forgetting.loc[1, "status"] == "failed" and np.isnan(forgetting.loc[1, "value"])
    assert 2 not in forgetting.index  # recorded without per-class accuracies: no forgetting


def test_average_forgetting_is_shown_but_never_ranked_marked_best_or_a_gain():
    from benchmark.report.tables import rank_columns
    from benchmark.suites.continual import FORGETTING, ContinualSuite

    assert ContinualSuite.table.unranked == (FORGETTING,)
    cells = pd.DataFrame(
        [{"label": label, "ipc": 3, "network": "ConvNet", "column": column, "mean": mean, "role": "method"}
         for label, final, forgetting in (("a", 80.0, 5.0), ("b", 60.0, 30.0))
         for column, mean in (("final", final), (FORGETTING, forgetting))]
    )  # fmt: skip
    seeds = {
        (("a", 3, "ConvNet"), "final"): [80.0, 80.5, 79.5],
        (("b", 3, "ConvNet"), "final"): [60.0, 60.5, 59.5],
    }
    ranked, _ = rank_columns(cells, ["label", "ipc", "network"], seeds, ContinualSuite.table.unranked)
    final = ranked[ranked["column"] == "final"].set_index("label")
    assert final.loc["a", "rank"] == 1 and final.loc["b", "rank"] == 2 and final.loc["a", "best"]
    forgetting = ranked[ranked["column"] == FORGETTING]
    assert forgetting["rank"].isna().all() and not forgetting["best"].any()
