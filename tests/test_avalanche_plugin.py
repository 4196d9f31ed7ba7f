"""DistilledMemoryPlugin inside avalanche's Naive on a tiny class-incremental digits stream."""

from __future__ import annotations

import io
import math
import warnings

import pytest
import torch
from script_modules import load_script
from torch import nn

from benchmark.continual.stream import class_order
from benchmark.data import load_dataset
from benchmark.errors import UserInputError

IPC = 2
STEPS = 5  # all ten digits in a seeded order: 5 experiences of 2 classes
BATCH = 16


def load_example():
    """examples/avalanche_gdumb.py as a module (it is a script, not a package)."""
    return load_script("examples/avalanche_gdumb.py", "avalanche_gdumb_example")


TensorDataset = load_example().Items  # (image, label) items with ``targets``, as avalanche needs


@pytest.fixture(scope="module")
def run():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from avalanche.benchmarks.scenarios.supervised import class_incremental_benchmark
        from avalanche.core import SupervisedPlugin
        from avalanche.evaluation.metrics import accuracy_metrics
        from avalanche.training.plugins import EvaluationPlugin
        from avalanche.training.supervised import Naive

        from benchmark.integrations.avalanche import DistilledMemoryPlugin

    class Recorder(SupervisedPlugin):
        """What the strategy trains on: weights at the start, data, iterations, memory after."""

        def __init__(self, memory):
            super().__init__()
            self.memory = memory
            self.start_weights, self.end_weights, self.trained_on, self.iterations = [], [], [], []
            self.memory_after, self.experience_classes = [], []

        def before_training_exp(self, strategy, **kwargs):
            self.start_weights.append({k: v.clone() for k, v in strategy.model.state_dict().items()})
            self.trained_on.append(len(strategy.adapted_dataset))
            self.experience_classes.append(sorted(strategy.experience.classes_in_this_experience))
            self.iterations.append(0)

        def after_training_iteration(self, strategy, **kwargs):
            self.iterations[-1] += 1

        def after_training_exp(self, strategy, **kwargs):
            self.end_weights.append({k: v.clone() for k, v in strategy.model.state_dict().items()})
            self.memory_after.append((self.memory.memory_images.clone(), self.memory.memory_labels.clone()))

    data = load_dataset("digits")
    order = class_order(0, 10)
    train, test = data.train, data.test
    scenario = class_incremental_benchmark(
        {"train": TensorDataset(train.images, train.labels), "test": TensorDataset(test.images, test.labels)},
        class_order=order,
        num_experiences=STEPS,
    )
    torch.manual_seed(0)
    model = nn.Sequential(nn.Flatten(), nn.Linear(64, 32), nn.ReLU(), nn.Linear(32, 10))
    initial = {k: v.clone() for k, v in model.state_dict().items()}
    memory = DistilledMemoryPlugin("random", ipc=IPC, dataset="digits", seed=3, mean=data.mean, std=data.std)
    recorder = Recorder(memory)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "No loggers specified": this test reads the metrics itself
        evaluator = EvaluationPlugin(accuracy_metrics(stream=True), loggers=[])
    strategy = Naive(
        model=model,
        optimizer=torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9),
        criterion=nn.CrossEntropyLoss(),
        train_mb_size=BATCH,
        train_epochs=1,
        eval_mb_size=128,
        device="cpu",
        plugins=[memory, recorder],
        evaluator=evaluator,
    )
    for experience in scenario.train_stream:
        strategy.train(experience, eval_streams=[])
    results = strategy.eval(scenario.test_stream)
    return {
        "data": data,
        "order": order,
        "initial": initial,
        "memory": memory,
        "recorder": recorder,
        "results": results,
    }


def test_memory_grows_by_each_budget_with_the_seen_classes(run):
    recorder, order = run["recorder"], run["order"]
    assert len(recorder.memory_after) == STEPS
    for t, (images, labels) in enumerate(recorder.memory_after):
        seen = order[: 2 * (t + 1)]
        assert images.shape == (IPC * len(seen), 1, 8, 8)
        assert sorted(labels.unique().tolist()) == sorted(seen)
        assert torch.bincount(labels, minlength=10)[seen].tolist() == [IPC] * len(seen)
        if t:  # earlier buffers stay in the memory unchanged
            previous_images, previous_labels = recorder.memory_after[t - 1]
            assert torch.equal(images[: len(previous_images)], previous_images)
            assert torch.equal(labels[: len(previous_labels)], previous_labels)


def test_each_buffer_comes_from_its_experience_only(run):
    memory, recorder, data = run["memory"], run["recorder"], run["data"]
    assert len(memory.buffers) == STEPS
    for buffer, classes in zip(memory.buffers, recorder.experience_classes, strict=True):
        assert buffer.manifest["classes"] == classes
        assert buffer.manifest["strategy"] == "random"
        assert buffer.storage == IPC * len(classes) * 64
    # random keeps real training images: each memory image is a training image of its label
    images, labels = memory.memory_images, memory.memory_labels
    for image, label in zip(images, labels, strict=True):
        candidates = data.train.of_class(int(label))
        assert (candidates - image).abs().flatten(1).amax(1).min() < 1e-6


def test_strategy_trains_on_the_memory_only(run):
    recorder = run["recorder"]
    for t in range(STEPS):
        size = IPC * 2 * (t + 1)
        assert recorder.trained_on[t] == size
        assert recorder.iterations[t] == math.ceil(size / BATCH)
    # avalanche evaluates the trained model on the test stream as usual
    accuracies = [value for name, value in run["results"].items() if name.startswith("Top1_Acc_Stream")]
    assert len(accuracies) == 1 and 0.0 <= accuracies[0] <= 1.0


def test_model_is_reset_at_every_experience(run):
    recorder, initial = run["recorder"], run["initial"]
    for t in range(STEPS):
        for name, value in initial.items():
            assert torch.equal(recorder.start_weights[t][name], value), (t, name)
        changed = any(not torch.equal(recorder.end_weights[t][k], v) for k, v in initial.items())
        assert changed, f"experience {t} did not train"


def test_bad_spec_is_refused_at_construction():
    from benchmark.integrations.avalanche import DistilledMemoryPlugin

    with pytest.raises(UserInputError):
        DistilledMemoryPlugin("no_such_strategy", ipc=2)
    with pytest.raises(UserInputError):
        DistilledMemoryPlugin("random", ipc=0)
    with pytest.raises(UserInputError):
        DistilledMemoryPlugin("whole", ipc=2)


def one_experience(order):
    """The first experience of the digits stream (2 classes), as an avalanche dataset."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from avalanche.benchmarks.scenarios.supervised import class_incremental_benchmark
    data = load_dataset("digits")
    scenario = class_incremental_benchmark(
        {"train": TensorDataset(data.train.images, data.train.labels),
         "test": TensorDataset(data.test.images, data.test.labels)},
        class_order=order, num_experiences=STEPS,
    )  # fmt: skip
    return scenario


def test_the_memory_is_trained_with_the_configured_augmentation(monkeypatch, tmp_path):
    from benchmark.integrations.avalanche import DistilledMemory

    monkeypatch.chdir(tmp_path)  # nothing may be written into the working directory
    flip = lambda image: torch.flip(image, dims=[-1])  # noqa: E731 - deterministic, so it can be checked
    memory = DistilledMemory("random", ipc=IPC, dataset="digits", augmentation=flip)
    scenario = one_experience(class_order(0, 10))
    memory.add_experience(scenario.train_stream[0].dataset, torch.device("cpu"))
    train, plain = memory.dataset().train(), memory.dataset().eval()
    assert len(train) == IPC * 2
    for i in range(len(train)):
        image, label, task = train[i]
        assert torch.equal(image, flip(memory.images[i])) and not torch.equal(image, memory.images[i])
        assert (
            torch.equal(plain[i][0], memory.images[i]) and int(label) == int(memory.labels[i]) and task == 0
        )
    assert list(tmp_path.iterdir()) == []


def replay_sizes(policy, experiences: int) -> list[list[int]]:
    """Images per class in the policy's buffer after each of the first experiences of a 2-class stream."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from avalanche.logging import TextLogger
        from avalanche.training.plugins import EvaluationPlugin, ReplayPlugin
        from avalanche.training.supervised import Naive

    scenario = one_experience(class_order(1, 10))
    quiet = EvaluationPlugin(loggers=[TextLogger(io.StringIO())])  # avalanche warns without a logger
    model = nn.Sequential(nn.Flatten(), nn.Linear(64, 10))
    strategy = Naive(
        model=model, optimizer=torch.optim.SGD(model.parameters(), lr=0.1), criterion=nn.CrossEntropyLoss(),
        train_mb_size=BATCH, train_epochs=1, device="cpu", evaluator=quiet,
        plugins=[ReplayPlugin(mem_size=policy.max_size, storage_policy=policy)],
    )  # fmt: skip
    sizes = []
    for experience in scenario.train_stream[:experiences]:
        strategy.train(experience)
        assert len(policy.buffer) == len(policy.memory.labels)
        sizes.append(sorted(torch.bincount(policy.memory.labels).tolist(), reverse=True))
    return sizes


def test_distilled_buffer_honours_mem_size(monkeypatch, tmp_path):
    """As avalanche's class-balanced buffer: max_size // classes seen per class (earlier classes cut),
    or max_size // num_classes from the start; a resize cuts the memory."""
    from benchmark.integrations.avalanche import DistilledBuffer

    monkeypatch.chdir(tmp_path)
    sizes = [[n for n in per_class if n] for per_class in replay_sizes(
        DistilledBuffer(100, "herding", dataset="digits", augmentation=None), 3
    )]  # fmt: skip
    assert sizes == [[50, 50], [25] * 4, [16] * 6]
    fixed = DistilledBuffer(100, "random", num_classes=10, dataset="digits", augmentation=None)
    assert [[n for n in c if n] for c in replay_sizes(fixed, 3)] == [[10] * 2, [10] * 4, [10] * 6]
    assert len(fixed.memory.buffers) == 3 and list(tmp_path.iterdir()) == []
    fixed.resize(None, 30)
    assert fixed.max_size == 30 and torch.bincount(fixed.memory.labels).max() == 3 and len(fixed.buffer) == 18


def test_distilled_buffer_refuses_sizes_that_cannot_hold(monkeypatch):
    from benchmark.integrations.avalanche import DistilledBuffer, distilled_replay

    with pytest.raises(UserInputError, match="pass num_classes too"):
        DistilledBuffer(100, "herding", ipc=5)
    with pytest.raises(UserInputError, match="choose ipc ≤ 4"):
        DistilledBuffer(40, "herding", ipc=5, num_classes=10)
    with pytest.raises(UserInputError, match="choose max_size ≥ 10"):
        DistilledBuffer(5, "herding", num_classes=10).images_per_class(10)
    with pytest.raises(UserInputError, match="no_such"):
        DistilledBuffer(100, "no_such")
    plugin = distilled_replay(60, "random", num_classes=10)
    assert plugin.mem_size == plugin.storage_policy.max_size == 60


def test_no_deprecation_warnings_from_our_classes(monkeypatch, tmp_path):
    """Keyword-only DistilledGDumb (avalanche's constructors take keywords) and a storage policy whose
    ``update`` is not the deprecated inherited one."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from avalanche.evaluation.metrics import accuracy_metrics
        from avalanche.logging import TextLogger
        from avalanche.training.plugins import EvaluationPlugin

        from benchmark.integrations.avalanche import DistilledBuffer, DistilledGDumb

    monkeypatch.chdir(tmp_path)
    model = nn.Sequential(nn.Flatten(), nn.Linear(64, 10))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        evaluator = EvaluationPlugin(accuracy_metrics(stream=True), loggers=[TextLogger(io.StringIO())])
        gdumb = DistilledGDumb(
            model=model, optimizer=torch.optim.SGD(model.parameters(), lr=0.1),
            criterion=nn.CrossEntropyLoss(), strategy="random", ipc=1, memory={"dataset": "digits"},
            device="cpu", evaluator=evaluator,
        )  # fmt: skip
        gdumb.train(one_experience(class_order(0, 10)).train_stream[0])
        replay_sizes(DistilledBuffer(20, "random", dataset="digits", augmentation=None), 2)
    assert [f"{w.category.__name__}: {w.message}" for w in caught] == []
