"""The avalanche memory with soft labels: the GDumb routes and distilled_replay train it with the suite's
T² · KL at the buffers' temperature (replay: the experience's rows with the strategy's criterion), a
hard-label memory trains as before, a plain ReplayPlugin keeps class ids and says so."""

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


def step_recorder():
    """A plugin keeping, for each training step, its loss, outputs, batch, criterion and experience."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from avalanche.core import SupervisedPlugin

    class Steps(SupervisedPlugin):
        def __init__(self):
            super().__init__()
            self.steps = []

        def before_backward(self, strategy, **kwargs):
            self.steps.append({
                "loss": strategy.loss.detach().reshape(()), "outputs": strategy.mb_output.detach().clone(),
                "batch": [part.clone() for part in strategy.mbatch], "criterion": strategy._criterion,
                "experience": strategy.experience.current_experience,
            })  # fmt: skip

    return Steps()


def gdumb(experiences: int = 2, augmentation="dsa"):
    """Naive + DistilledMemoryPlugin(random) on the first experiences of the digits stream; what each
    training step computed its loss from."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from avalanche.evaluation.metrics import accuracy_metrics
        from avalanche.logging import TextLogger
        from avalanche.training.plugins import EvaluationPlugin
        from avalanche.training.supervised import Naive

        from benchmark.integrations.avalanche import DistilledMemoryPlugin

    data, scenario = digits_stream()
    torch.manual_seed(0)
    model = nn.Sequential(nn.Flatten(), nn.Linear(64, 32), nn.ReLU(), nn.Linear(32, 10))
    memory = DistilledMemoryPlugin("random", ipc=IPC, dataset="digits", seed=3, augmentation=augmentation,
                                   mean=data.mean, std=data.std)  # fmt: skip
    steps, criterion = step_recorder(), nn.CrossEntropyLoss()
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
    strategy = SimpleNamespace(
        is_training=True, mbatch=[None, labels, targets, torch.zeros(3)], experience="e1"
    )
    criterion = MemoryCriterion(strategy, nn.CrossEntropyLoss(), 2.0)
    assert torch.allclose(criterion(outputs, labels), soft_label_loss(outputs, F.pad(targets, (0, 2)), 2.0))
    strategy.is_training = False  # an evaluation: the strategy's criterion
    assert torch.equal(criterion(outputs, labels), F.cross_entropy(outputs, labels))
    strategy.is_training, strategy.mbatch = True, [None, labels, torch.zeros(3)]
    assert torch.equal(criterion(outputs, labels), F.cross_entropy(outputs, labels))
    strategy.mbatch = [None, labels, targets, torch.zeros(3)]
    with pytest.raises(UserInputError, match="the model has 2 outputs"):
        criterion(outputs[:, :2], labels)
    # labels other than the batch's (a plugin's own pass, e.g. EWC's importances): the strategy's criterion
    assert torch.equal(criterion(outputs, labels.clone()), F.cross_entropy(outputs, labels))
    strategy.experience = "e2"  # another experience than the one it was built for (a training that raised)
    assert torch.equal(criterion(outputs, labels), F.cross_entropy(outputs, labels))


def test_memory_criterion_refuses_a_criterion_that_does_not_average_over_rows():
    from benchmark.integrations.avalanche import MemoryCriterion

    strategy = SimpleNamespace(is_training=True, mbatch=None, experience=None)
    for reduction in ("sum", "none"):
        with pytest.raises(
            UserInputError, match=f"reduction='{reduction}'.*give the criterion reduction='mean'"
        ):
            MemoryCriterion(strategy, nn.CrossEntropyLoss(reduction=reduction), 2.0)
    with pytest.raises(UserInputError, match="class weights"):
        MemoryCriterion(strategy, nn.CrossEntropyLoss(weight=torch.ones(10)), 2.0)
    MemoryCriterion(strategy, nn.CrossEntropyLoss(label_smoothing=0.1), 2.0)  # a mean over rows: accepted


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


def test_a_plain_replay_plugin_keeps_class_ids_says_so_and_cuts_the_soft_rows_with_the_memory(monkeypatch):
    from benchmark.integrations.avalanche import DistilledBuffer

    soft_labels_on_buffers(monkeypatch, teacher_logits, "logits", TEMPERATURE)
    _, scenario = digits_stream()
    policy = DistilledBuffer(8, "random", dataset="digits", augmentation=None)
    plain = r"a plain ReplayPlugin trains the memory on hard labels.*distilled_replay"
    with pytest.warns(UserWarning, match=plain):
        policy.post_adapt(SimpleNamespace(device="cpu"), scenario.train_stream[0])
    assert len(policy.buffer[0]) == 3  # (x, y, task label): replay concatenates it with the experience
    with pytest.warns(UserWarning):
        policy.post_adapt(SimpleNamespace(device="cpu"), scenario.train_stream[1])
    assert torch.bincount(policy.memory.labels).max() == 2
    assert len(policy.memory.soft_labels.values) == len(policy.memory.labels) == 8


MEM_SIZE, BATCH = 8, 16


def naive(plugins, experiences: int = 2, scenario=None, criterion=None):
    """Naive with ``plugins`` on the first experiences of ``scenario`` (default: the digits stream), every
    warning recorded; what each training step computed its loss from."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from avalanche.logging import TextLogger
        from avalanche.training.plugins import EvaluationPlugin
        from avalanche.training.supervised import Naive

    scenario = scenario or digits_stream()[1]
    torch.manual_seed(0)
    model = nn.Sequential(nn.Flatten(), nn.Linear(64, 32), nn.ReLU(), nn.Linear(32, 10))
    steps, criterion = step_recorder(), criterion or nn.CrossEntropyLoss()
    strategy = Naive(
        model=model, optimizer=torch.optim.SGD(model.parameters(), lr=0.1), criterion=criterion,
        train_mb_size=BATCH, train_epochs=1, device="cpu", plugins=[*plugins, steps],
        evaluator=EvaluationPlugin(loggers=[TextLogger(io.StringIO())]),
    )  # fmt: skip
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for experience in scenario.train_stream[:experiences]:
            strategy.train(experience, eval_streams=[])
    return SimpleNamespace(strategy=strategy, steps=steps.steps, criterion=criterion, caught=caught,
                           scenario=scenario)  # fmt: skip


def replay(plugin, experiences: int = 2, **run):
    """:func:`naive` with ``plugin``, a replay plugin over a DistilledBuffer, whose memory it returns too."""
    return SimpleNamespace(**vars(naive([plugin], experiences, **run)), memory=plugin.storage_policy.memory)


def soft_replay_policy():
    from benchmark.integrations.avalanche import DistilledBuffer

    return DistilledBuffer(MEM_SIZE, "random", dataset="digits", seed=3, augmentation=None)


def test_distilled_replay_trains_memory_rows_with_t_squared_kl_and_experience_rows_with_the_criterion(
    monkeypatch,
):
    from benchmark.integrations.avalanche import DistilledReplayPlugin, MemoryCriterion

    attached = soft_labels_on_buffers(monkeypatch, teacher_logits, "logits", TEMPERATURE)
    run = replay(DistilledReplayPlugin(soft_replay_policy(), task_balanced_dataloader=True))
    assert [f"{w.category.__name__}: {w.message}" for w in run.caught] == []  # soft labels are used
    first = [step for step in run.steps if step["experience"] == 0]
    second = [step for step in run.steps if step["experience"] == 1]
    assert first and second and len(first) + len(second) == len(run.steps)
    for step in first:  # no memory yet: the experience alone, with the strategy's criterion
        assert len(step["batch"]) == 3 and step["criterion"] is run.criterion
        assert torch.equal(step["loss"], F.cross_entropy(step["outputs"], step["batch"][1]))
    # replayed in the second experience: the first buffer, as fitted (the memory cut it afterwards)
    memory_images, memory_labels, _ = run.memory.buffers[0].materialize("cpu")
    assert len(memory_labels) == MEM_SIZE
    memory_targets = torch.softmax(attached[0].values / TEMPERATURE, 1)
    experience_classes = set(run.scenario.train_stream[1].classes_in_this_experience)
    for step in second:
        images, labels, targets, tasks = step["batch"]
        assert isinstance(step["criterion"], MemoryCriterion) and targets.shape[1] == 1 + max(memory_labels)
        hard = targets.isnan().all(1)
        assert 0 < hard.sum() <= BATCH and (~hard).sum() == MEM_SIZE
        assert not targets[~hard].isnan().any() and tasks.eq(0).all()
        assert set(labels[hard].tolist()) <= experience_classes
        assert not set(labels[~hard].tolist()) & experience_classes
        for image, label, target in zip(images[~hard], labels[~hard], targets[~hard], strict=True):
            (index,) = torch.nonzero((memory_images == image).flatten(1).all(1)).flatten().tolist()
            assert int(memory_labels[index]) == int(label)
            assert torch.allclose(target[list(attached[0].classes)], memory_targets[index])
        outputs, n = step["outputs"], len(labels)
        experience_loss = F.cross_entropy(outputs[hard], labels[hard])
        memory_loss = soft_label_loss(outputs[~hard], F.pad(targets[~hard], (0, 10 - targets.shape[1])),
                                      TEMPERATURE)  # fmt: skip
        by_hand = (experience_loss * hard.sum() + memory_loss * (~hard).sum()) / n
        assert torch.allclose(step["loss"], by_hand)
        assert not torch.allclose(step["loss"], F.cross_entropy(outputs, labels))
    assert run.strategy._criterion is run.criterion  # the strategy's own criterion after each experience
    assert len(run.memory.labels) == len(run.memory.soft_labels.values) == MEM_SIZE


def test_a_hard_label_memory_replays_as_a_plain_replay_plugin():
    """Same batches and losses, bit for bit, through distilled_replay and ReplayPlugin + DistilledBuffer."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from avalanche.training.plugins import ReplayPlugin

    from benchmark.integrations.avalanche import distilled_replay

    plain = replay(ReplayPlugin(mem_size=MEM_SIZE, storage_policy=soft_replay_policy()))
    ours = replay(distilled_replay(MEM_SIZE, "random", dataset="digits", seed=3, augmentation=None))
    assert ours.caught == [] and len(ours.steps) == len(plain.steps)
    assert any(len(step["batch"][1]) > BATCH for step in ours.steps)  # replay batches were checked
    for p, o in zip(plain.steps, ours.steps, strict=True):
        assert len(o["batch"]) == 3 and o["criterion"] is ours.criterion
        assert all(torch.equal(a, b) for a, b in zip(p["batch"], o["batch"], strict=True))
        assert torch.equal(p["loss"], o["loss"])
    assert ours.strategy._criterion is ours.criterion


def test_flagged_experience_items_keep_their_data_and_attributes():
    from benchmark.integrations.avalanche import flagged_as_hard

    _, scenario = digits_stream()
    experience = scenario.train_stream[1].dataset.train()
    flagged = flagged_as_hard(experience, 6)
    assert len(flagged) == len(experience)
    for i in (0, len(experience) - 1):
        (x, y, t), (fx, fy, row, ft) = experience[i], flagged[i]
        assert torch.equal(x, fx) and y == fy and t == ft and row.shape == (6,) and row.isnan().all()
    assert list(flagged.targets) == list(experience.targets)
    assert list(flagged.targets_task_labels) == list(experience.targets_task_labels)
    assert sorted(flagged.task_set) == [0] and len(flagged.task_set[0]) == len(experience)


def test_memory_criterion_weights_experience_and_memory_rows_by_count():
    from benchmark.integrations.avalanche import MemoryCriterion

    outputs = torch.randn(5, 4, generator=torch.Generator().manual_seed(1))
    labels = torch.tensor([3, 0, 2, 1, 0])
    targets = torch.softmax(torch.randn(5, 3, generator=torch.Generator().manual_seed(2)), 1)
    targets[:3] = float("nan")  # three experience rows, two memory rows
    strategy = SimpleNamespace(
        is_training=True, mbatch=[None, labels, targets, torch.zeros(5)], experience=None
    )
    loss = MemoryCriterion(strategy, nn.CrossEntropyLoss(), 2.0)(outputs, labels)
    by_hand = (3 * F.cross_entropy(outputs[:3], labels[:3])
               + 2 * soft_label_loss(outputs[3:], F.pad(targets[3:], (0, 1)), 2.0)) / 5  # fmt: skip
    assert torch.allclose(loss, by_hand)
    targets[3:] = float("nan")  # experience rows only: the strategy's criterion
    assert torch.allclose(MemoryCriterion(strategy, nn.CrossEntropyLoss(), 2.0)(outputs, labels),
                          F.cross_entropy(outputs, labels))  # fmt: skip


def test_distilled_replay_plugin_refuses_another_storage_policy():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from avalanche.training.storage_policy import ReservoirSamplingBuffer

    from benchmark.integrations.avalanche import DistilledReplayPlugin

    with pytest.raises(UserInputError, match="replays a DistilledBuffer"):
        DistilledReplayPlugin(ReservoirSamplingBuffer(10))


def memory_plugin(route: str):
    """The soft-label memory's plugin on ``route``: distilled replay or GDumb."""
    from benchmark.integrations.avalanche import DistilledMemoryPlugin, DistilledReplayPlugin

    if route == "replay":
        return DistilledReplayPlugin(soft_replay_policy())
    return DistilledMemoryPlugin("random", ipc=IPC, dataset="digits", seed=3, augmentation=None)


@pytest.mark.parametrize("route", ["replay", "gdumb"])
def test_a_plugin_calling_the_criterion_on_its_own_batches_gets_the_strategys_criterion(monkeypatch, route):
    """EWC computes its importances with strategy._criterion on the experience's data after the
    experience: the same importances whether it runs before the memory's plugin (while MemoryCriterion
    stands in) or after it (the criterion put back)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from avalanche.training.plugins import EWCPlugin

    soft_labels_on_buffers(monkeypatch, teacher_logits, "logits", TEMPERATURE)
    importances = []
    for ewc_first in (False, True):
        ewc, memory = EWCPlugin(ewc_lambda=1.0), memory_plugin(route)
        naive([ewc, memory] if ewc_first else [memory, ewc])
        importances.append({name: value.data for name, value in ewc.importances[1].items()})
    after, before = importances
    assert after.keys() == before.keys() and any(value.abs().sum() > 0 for value in after.values())
    for name in after:
        assert torch.allclose(after[name], before[name]), name


@pytest.mark.parametrize("route", ["replay", "gdumb"])
def test_a_criterion_summing_over_rows_is_refused_on_a_soft_label_memory(monkeypatch, route):
    soft_labels_on_buffers(monkeypatch, teacher_logits, "logits", TEMPERATURE)
    with pytest.raises(UserInputError, match="reduction='sum'"):
        naive([memory_plugin(route)], criterion=nn.CrossEntropyLoss(reduction="sum"))


def experience_spy():
    """A plugin keeping, at each training experience, the adapted dataset and the strategy's criterion
    after the dataset's adaptation and in before_training_exp."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from avalanche.core import SupervisedPlugin

    class Spy(SupervisedPlugin):
        def __init__(self):
            super().__init__()
            self.adapted, self.at_start = [], []

        def after_train_dataset_adaptation(self, strategy, **kwargs):
            self.adapted.append(strategy.adapted_dataset)

        def before_training_exp(self, strategy, **kwargs):
            self.at_start.append((strategy.adapted_dataset, strategy._criterion))

    return Spy()


def test_plugins_after_distilled_replay_see_the_experiences_own_dataset(monkeypatch):
    from benchmark.integrations.avalanche import DistilledReplayPlugin

    soft_labels_on_buffers(monkeypatch, teacher_logits, "logits", TEMPERATURE)
    spy = experience_spy()
    run = naive([DistilledReplayPlugin(soft_replay_policy()), spy])
    assert any(len(step["batch"]) == 4 for step in run.steps)  # the second experience replayed soft rows
    assert len(spy.adapted) == len(spy.at_start) == 2
    for adapted, (seen, _) in zip(spy.adapted, spy.at_start, strict=True):
        assert seen is adapted and len(seen[0]) == 3  # (x, y, task label), not the flagged items


def test_a_training_that_raised_leaves_the_next_one_the_strategys_criterion(monkeypatch):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from avalanche.core import SupervisedPlugin

    from benchmark.integrations.avalanche import MemoryCriterion

    class InterruptOnce(SupervisedPlugin):
        """Interrupts the second experience's first iteration, keeping the strategy."""

        def after_training_iteration(self, strategy, **kwargs):
            self.strategy = strategy
            if strategy.experience.current_experience == 1 and not hasattr(self, "raised"):
                self.raised = True
                raise KeyboardInterrupt

    soft_labels_on_buffers(monkeypatch, teacher_logits, "logits", TEMPERATURE)
    spy, interrupt, criterion = experience_spy(), InterruptOnce(), nn.CrossEntropyLoss()
    with pytest.raises(KeyboardInterrupt):
        naive([spy, memory_plugin("replay"), interrupt], criterion=criterion)
    strategy = interrupt.strategy
    assert isinstance(strategy._criterion, MemoryCriterion)  # nothing runs after the interruption
    strategy.train(digits_stream()[1].train_stream[2], eval_streams=[])
    assert spy.at_start[-1][1] is criterion  # the plugins before the replay plugin's see the user's
    assert strategy._criterion is criterion


SHIFT = 100.0


def shifted_digits_stream():
    """The digits stream with a training transform only: every training image shifted by ``SHIFT``."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from avalanche.benchmarks.scenarios.supervised import class_incremental_benchmark
        from avalanche.benchmarks.utils import TaskAwareSupervisedClassificationDataset
        from avalanche.benchmarks.utils.data_attribute import DataAttribute
        from avalanche.benchmarks.utils.transform_groups import TransformGroups
    items = load_script("examples/avalanche_gdumb.py", "avalanche_gdumb_example").Items
    data = load_dataset("digits")

    def avalanche_dataset(split, train_transform):
        return TaskAwareSupervisedClassificationDataset(
            [items(split.images, split.labels)],
            data_attributes=[
                DataAttribute(split.labels.tolist(), "targets"),
                DataAttribute([0] * len(split.labels), "targets_task_labels", use_in_getitem=True),
            ],
            transform_groups=TransformGroups({"train": (train_transform, None), "eval": (None, None)}),
        )

    scenario = class_incremental_benchmark(
        {"train": avalanche_dataset(data.train, lambda image: image + SHIFT),
         "test": avalanche_dataset(data.test, None)},
        class_order=class_order(0, 10), num_experiences=5,
    )  # fmt: skip
    return data, scenario


def test_replayed_experience_rows_carry_the_training_transform(monkeypatch):
    """The memory is fitted on the experience's eval items; the experience's own rows in replay batches are
    its training items, transformed as training transforms them."""
    from benchmark.integrations.avalanche import DistilledReplayPlugin

    soft_labels_on_buffers(monkeypatch, teacher_logits, "logits", TEMPERATURE)
    data, scenario = shifted_digits_stream()
    run = replay(DistilledReplayPlugin(soft_replay_policy()), scenario=scenario)
    assert run.memory.images.max() < SHIFT / 2  # fitted on the eval items, unshifted
    replayed = [step["batch"] for step in run.steps if len(step["batch"]) == 4]
    assert replayed
    for images, _, targets, _ in replayed:
        hard = targets.isnan().all(1)
        assert hard.any() and (~hard).any()
        assert images[~hard].max() < SHIFT / 2
        for image in images[hard]:
            assert (data.train.images + SHIFT - image).abs().flatten(1).amax(1).min() < 1e-4


def test_a_policy_adapted_before_its_plugin_was_built_replays_the_memorys_targets(monkeypatch):
    from benchmark.integrations.avalanche import DistilledReplayPlugin

    soft_labels_on_buffers(monkeypatch, teacher_logits, "logits", TEMPERATURE)
    _, scenario = digits_stream()
    policy = soft_replay_policy()
    with pytest.warns(UserWarning, match="a plain ReplayPlugin"):
        policy.post_adapt(SimpleNamespace(device="cpu"), scenario.train_stream[0])
    second = SimpleNamespace(train_stream=[scenario.train_stream[1]])
    run = naive([DistilledReplayPlugin(policy)], 1, scenario=second)
    assert run.steps and all(len(step["batch"]) == 4 for step in run.steps)
    assert all((~step["batch"][2].isnan().any(1)).sum() == MEM_SIZE for step in run.steps)
