import numpy as np
import pytest
import torch

from baselines.pixels import real_images_per_class
from benchmark.continual.stream import class_incremental_steps, class_order
from benchmark.errors import UserInputError
from benchmark.options import RunOptions
from benchmark.pixels import pixel_buffer
from benchmark.profiles import load_profile
from benchmark.registries import STRATEGIES, SUITES
from benchmark.runner import run
from benchmark.seeding import generator
from benchmark.strategy import Strategy

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
