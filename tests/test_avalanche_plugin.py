"""DistilledMemoryPlugin inside avalanche's Naive on a tiny class-incremental digits stream."""

from __future__ import annotations

import math
import warnings

import pytest
import torch
from torch import nn

from benchmark.continual.stream import class_order
from benchmark.data import load_dataset
from benchmark.errors import UserInputError

IPC = 2
STEPS = 5  # all ten digits in a seeded order: 5 experiences of 2 classes
BATCH = 16


class TensorDataset(torch.utils.data.Dataset):
    """(image, label) items with ``targets``, as avalanche's benchmark builders need."""

    def __init__(self, images: torch.Tensor, labels: torch.Tensor):
        self.images, self.targets = images, labels.tolist()

    def __len__(self) -> int:
        return len(self.targets)

    def __getitem__(self, i: int):
        return self.images[i], self.targets[i]


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
