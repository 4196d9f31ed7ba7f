"""The avalanche memory with soft labels: the GDumb routes train it with the suite's T² · KL at the
buffers' temperature, a hard-label memory trains as before, replay keeps class ids and says so."""

from __future__ import annotations

import io
import warnings
from types import SimpleNamespace

import pytest
import torch
import torch.nn.functional as F
from script_modules import load_script
from torch import nn

from benchmark.buffer import SoftLabels
from benchmark.continual.stream import class_order
from benchmark.data import load_dataset
from benchmark.errors import UserInputError
from benchmark.training.evaluate import soft_label_loss

pytest.importorskip("avalanche")

IPC = 2
TEMPERATURE = 4.0


def digits_stream():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from avalanche.benchmarks.scenarios.supervised import class_incremental_benchmark
    items = load_script("examples/avalanche_gdumb.py", "avalanche_gdumb_example").Items
    data = load_dataset("digits")
    scenario = class_incremental_benchmark(
        {"train": items(data.train.images, data.train.labels),
         "test": items(data.test.images, data.test.labels)},
        class_order=class_order(0, 10), num_experiences=5,
    )  # fmt: skip
    return data, scenario


def soft_labels_on_buffers(monkeypatch, values, kind: str, temperature: float) -> list[SoftLabels]:
    """Every buffer the memory fits carries ``values(labels, classes)`` as soft labels; returns them."""
    import benchmark.integrations.avalanche as integration

    fit, attached = integration.fit_buffer, []

    def fit_with_soft_labels(*args, **kwargs):
        buffer = fit(*args, **kwargs)
        _, labels, _ = buffer.materialize()
        classes = tuple(buffer.manifest["classes"])
        attached.append(SoftLabels(values(labels, classes), classes, kind, temperature))
        return buffer.attach_soft_labels(attached[-1])

    monkeypatch.setattr(integration, "fit_buffer", fit_with_soft_labels)
    return attached


def teacher_logits(labels, classes):
    return torch.randn(len(labels), len(classes), generator=torch.Generator().manual_seed(len(classes)))


def one_hot(labels, classes):
    return F.one_hot(torch.tensor([classes.index(int(c)) for c in labels]), len(classes)).float()


def padded_row(target: torch.Tensor) -> torch.Tensor:
    """A target row over classes 0 … the largest label seen then, over all ten digits."""
    return F.pad(target, (0, 10 - len(target)))


def gdumb(experiences: int = 2, augmentation="dsa"):
    """Naive + DistilledMemoryPlugin(random) on the first experiences of the digits stream; what each
    training step computed its loss from."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from avalanche.core import SupervisedPlugin
        from avalanche.evaluation.metrics import accuracy_metrics
        from avalanche.logging import TextLogger
        from avalanche.training.plugins import EvaluationPlugin
        from avalanche.training.supervised import Naive

        from benchmark.integrations.avalanche import DistilledMemoryPlugin

    class Steps(SupervisedPlugin):
        def __init__(self):
            super().__init__()
            self.steps = []

        def before_backward(self, strategy, **kwargs):
            self.steps.append({
                "loss": strategy.loss.detach().reshape(()), "outputs": strategy.mb_output.detach().clone(),
                "batch": [part.clone() for part in strategy.mbatch], "criterion": strategy._criterion,
            })  # fmt: skip

    data, scenario = digits_stream()
    torch.manual_seed(0)
    model = nn.Sequential(nn.Flatten(), nn.Linear(64, 32), nn.ReLU(), nn.Linear(32, 10))
    memory = DistilledMemoryPlugin("random", ipc=IPC, dataset="digits", seed=3, augmentation=augmentation,
                                   mean=data.mean, std=data.std)  # fmt: skip
    steps, criterion = Steps(), nn.CrossEntropyLoss()
    evaluator = EvaluationPlugin(accuracy_metrics(stream=True), loggers=[TextLogger(io.StringIO())])
    strategy = Naive(
        model=model, optimizer=torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9), criterion=criterion,
        train_mb_size=4, train_epochs=2, eval_mb_size=128, device="cpu", plugins=[memory, steps],
        evaluator=evaluator,
    )  # fmt: skip
    for experience in scenario.train_stream[:experiences]:
        strategy.train(experience, eval_streams=[])
    accuracy = next(v for k, v in strategy.eval(scenario.test_stream[:experiences]).items()
                    if k.startswith("Top1_Acc_Stream"))  # fmt: skip
    return SimpleNamespace(strategy=strategy, memory=memory.memory, steps=steps.steps, criterion=criterion,
                           model=model, accuracy=accuracy)  # fmt: skip


def test_a_soft_label_memory_trains_with_t_squared_kl_at_its_temperature(monkeypatch):
    attached = soft_labels_on_buffers(monkeypatch, teacher_logits, "logits", TEMPERATURE)
    run = gdumb(augmentation=None)  # images unchanged, so each batch item can be found in the memory
    memory = run.memory
    assert len(attached) == 2 and memory.soft_labels.temperature == TEMPERATURE
    # the memory's targets: each buffer's softmax(logits / T) in its classes' columns, 0 elsewhere
    expected = torch.zeros(len(memory.labels), 10)
    row = 0
    for soft in attached:
        rows = slice(row, row + len(soft.values))
        expected[rows, list(soft.classes)] = torch.softmax(soft.values / TEMPERATURE, 1)
        row += len(soft.values)
    top = max(memory.labels.tolist()) + 1
    assert torch.allclose(memory.soft_labels.targets(top), expected[:, :top])
    assert torch.allclose(memory.dataset().eval()[0][2], expected[0, :top])
    assert run.steps and all(len(step["batch"]) == 4 for step in run.steps)
    for step in run.steps:
        images, labels, targets, _ = step["batch"]
        padded = torch.stack([padded_row(target) for target in targets])
        assert torch.allclose(step["loss"], soft_label_loss(step["outputs"], padded, TEMPERATURE))
        assert not torch.allclose(step["loss"], F.cross_entropy(step["outputs"], labels))
        for image, label, target in zip(images, labels, targets, strict=True):  # rows travel with images
            (index,) = torch.nonzero((memory.images == image).flatten(1).all(1)).flatten().tolist()
            assert int(memory.labels[index]) == int(label)
            assert torch.equal(padded_row(target), expected[index])
    assert run.strategy._criterion is run.criterion  # the user's criterion again after training
    assert 0.0 <= run.accuracy <= 1.0


def test_one_hot_soft_labels_at_temperature_1_train_as_the_hard_labels(monkeypatch):
    """With DSA: same batches, same augmentation; the soft-label loss on one-hot targets is cross-entropy."""
    hard = gdumb()
    assert all(len(step["batch"]) == 3 and step["criterion"] is hard.criterion for step in hard.steps)
    for step in hard.steps:  # a hard-label memory trains with the strategy's own criterion
        assert torch.equal(step["loss"], hard.criterion(step["outputs"], step["batch"][1]))
    soft_labels_on_buffers(monkeypatch, one_hot, "probabilities", 1.0)
    soft = gdumb()
    assert len(soft.steps) == len(hard.steps) and all(len(step["batch"]) == 4 for step in soft.steps)
    for h, s in zip(hard.steps, soft.steps, strict=True):
        assert torch.allclose(h["loss"], s["loss"], atol=1e-5)
    for (name, h), s in zip(hard.model.state_dict().items(), soft.model.state_dict().values(), strict=True):
        assert torch.allclose(h, s, atol=1e-5), name


def test_memory_criterion_falls_back_outside_memory_training_and_refuses_too_few_outputs():
    from benchmark.integrations.avalanche import MemoryCriterion

    outputs, labels = torch.randn(3, 5), torch.tensor([0, 2, 1])
    targets = torch.softmax(torch.randn(3, 3), 1)
    strategy = SimpleNamespace(is_training=True, mbatch=[None, labels, targets, torch.zeros(3)])
    criterion = MemoryCriterion(strategy, nn.CrossEntropyLoss(), 2.0)
    assert torch.allclose(criterion(outputs, labels), soft_label_loss(outputs, F.pad(targets, (0, 2)), 2.0))
    strategy.is_training = False  # an evaluation: the strategy's criterion
    assert torch.equal(criterion(outputs, labels), F.cross_entropy(outputs, labels))
    strategy.is_training, strategy.mbatch = True, [None, labels, torch.zeros(3)]
    assert torch.equal(criterion(outputs, labels), F.cross_entropy(outputs, labels))
    strategy.mbatch = [None, labels, targets, torch.zeros(3)]
    with pytest.raises(UserInputError, match="the model has 2 outputs"):
        criterion(outputs[:, :2], labels)


def test_a_second_temperature_is_refused_before_the_memory_changes(monkeypatch):
    from benchmark.integrations.avalanche import DistilledMemory

    temperatures = iter([TEMPERATURE, 2.0])
    import benchmark.integrations.avalanche as integration

    fit = integration.fit_buffer

    def fit_with_soft_labels(*args, **kwargs):
        buffer = fit(*args, **kwargs)
        _, labels, _ = buffer.materialize()
        classes = tuple(buffer.manifest["classes"])
        return buffer.attach_soft_labels(SoftLabels(teacher_logits(labels, classes), classes, "logits",
                                                    next(temperatures)))  # fmt: skip

    monkeypatch.setattr(integration, "fit_buffer", fit_with_soft_labels)
    _, scenario = digits_stream()
    memory = DistilledMemory("random", ipc=IPC, dataset="digits", augmentation=None)
    memory.add_experience(scenario.train_stream[0].dataset, torch.device("cpu"))
    with pytest.raises(UserInputError, match="several temperatures"):
        memory.add_experience(scenario.train_stream[1].dataset, torch.device("cpu"))
    assert len(memory.buffers) == 1 and len(memory.labels) == len(memory.soft_labels.values) == 2 * IPC


def test_replay_keeps_class_ids_says_so_and_cuts_the_soft_rows_with_the_memory(monkeypatch):
    from benchmark.integrations.avalanche import DistilledBuffer

    soft_labels_on_buffers(monkeypatch, teacher_logits, "logits", TEMPERATURE)
    _, scenario = digits_stream()
    policy = DistilledBuffer(8, "random", dataset="digits", augmentation=None)
    with pytest.warns(UserWarning, match="replay trains the memory on hard labels"):
        policy.post_adapt(SimpleNamespace(device="cpu"), scenario.train_stream[0])
    assert len(policy.buffer[0]) == 3  # (x, y, task label): replay concatenates it with the experience
    with pytest.warns(UserWarning):
        policy.post_adapt(SimpleNamespace(device="cpu"), scenario.train_stream[1])
    assert torch.bincount(policy.memory.labels).max() == 2
    assert len(policy.memory.soft_labels.values) == len(policy.memory.labels) == 8
