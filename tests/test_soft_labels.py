"""Soft labels: stored and counted in the budget, trained with the KL loss at their temperature, carried
through export, outside sets, the continual memory, records and tables; the soft_random example."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from benchmark.budget import Budget
from benchmark.buffer import Buffer, SoftLabels
from benchmark.errors import BudgetExceededError, CorruptFileError, UserInputError
from benchmark.pixels import pixel_buffer
from benchmark.training.evaluate import soft_label_loss, train_and_test, train_network
from benchmark.training.job import EvaluationJob, TrainingSet, joined_soft_labels
from benchmark.training.recipe import EvalRecipe

ROOT = Path(__file__).resolve().parents[1]
CLASSES = list(range(10))


def random_probabilities(n: int, classes: int, seed: int = 0) -> torch.Tensor:
    return torch.softmax(torch.randn(n, classes, generator=torch.Generator().manual_seed(seed)), dim=1)


def soft_buffer(per_class: int = 1, shape=(1, 28, 28), dtype=torch.float32, kind="probabilities") -> Buffer:
    n = per_class * len(CLASSES)
    values = (
        random_probabilities(n, len(CLASSES)) if kind == "probabilities" else torch.randn(n, len(CLASSES))
    )
    labels = SoftLabels(values.to(dtype), tuple(CLASSES), kind, 1.0 if kind == "probabilities" else 3.0)
    return pixel_buffer(torch.randn(n, *shape), CLASSES, labels)


# ---- the contract and the budget ------------------------------------------------------------------


def test_stored_soft_labels_count_at_their_dtype():
    assert soft_buffer().storage == 10 * 784 + 10 * 10
    assert soft_buffer(dtype=torch.float16).storage == 10 * 784 + 10 * 10 * 0.5
    assert pixel_buffer(torch.randn(10, 1, 28, 28), CLASSES).storage == 10 * 784  # hard labels: uncounted


def test_one_image_per_class_with_its_labels_exceeds_fashion_mnist_ipc_1():
    budget = Budget(1, 10, (1, 28, 28))
    assert budget.floats == 7840
    with pytest.raises(BudgetExceededError):
        soft_buffer().check(budget)  # 10 × (784 + 10) = 7,940 > 7,840
    assert budget.images_per_class_with_soft_labels() == 0
    assert budget.images_per_class_with_soft_labels(label_value=0.5) == 0  # 10 × (784 + 5) > 7,840
    assert budget.images_per_class_with_soft_labels(image_value=0.5) == 1  # float16 images fit
    assert Budget(2, 10, (1, 28, 28)).images_per_class_with_soft_labels() == 1
    assert Budget(10, 10, (1, 28, 28)).images_per_class_with_soft_labels() == 9
    soft_buffer().check(Budget(2, 10, (1, 28, 28)))


def test_soft_labels_survive_a_save_and_load(tmp_path):
    buffer = soft_buffer(per_class=2, kind="logits", dtype=torch.float16)
    loaded = Buffer.load(buffer.save(tmp_path / "b.safetensors"))
    soft = loaded.soft_labels
    assert soft.kind == "logits" and soft.temperature == 3.0 and soft.values.dtype == torch.float16
    assert torch.equal(soft.values, buffer.tensors["soft_labels"]) and soft.classes == tuple(CLASSES)
    assert loaded.storage == buffer.storage == 20 * 784 + 20 * 10 * 0.5
    images, labels, _ = loaded.materialize()
    assert len(images) == len(soft.values) == 20 and labels.tolist() == [c for c in CLASSES for _ in (0, 1)]


def test_malformed_soft_labels_are_refused():
    buffer = soft_buffer()
    del buffer.tensors["soft_labels"]
    with pytest.raises(CorruptFileError, match="without the tensor"):
        buffer.materialize()
    buffer = soft_buffer()
    buffer.tensors["soft_labels"] = buffer.tensors["soft_labels"][:5]
    with pytest.raises(CorruptFileError, match="10 images but stores 5 soft labels"):
        buffer.materialize()
    with pytest.raises(ValueError, match="sum to 1"):
        SoftLabels(torch.ones(3, 10), tuple(CLASSES))
    with pytest.raises(ValueError, match="temperature"):
        SoftLabels(torch.zeros(3, 10), tuple(CLASSES), "logits", 0.0)
    with pytest.raises(ValueError, match="kind"):
        SoftLabels(torch.zeros(3, 10), tuple(CLASSES), "scores")


def test_targets_are_probabilities_at_the_temperature_in_global_columns():
    logits = torch.tensor([[2.0, 0.0], [0.0, 4.0]])
    targets = SoftLabels(logits, (3, 1), "logits", 2.0).targets(5)
    expected = torch.zeros(2, 5)
    expected[:, [3, 1]] = torch.softmax(logits / 2, dim=1)
    assert torch.allclose(targets, expected) and targets[:, [0, 2, 4]].eq(0).all()


# ---- the loss and the training loop ---------------------------------------------------------------


def test_the_loss_is_t_squared_kl_and_cross_entropy_for_one_hot_targets():
    outputs = torch.randn(6, 10, generator=torch.Generator().manual_seed(1))
    targets = random_probabilities(6, 10, seed=2)
    kl = (targets * (targets.log() - F.log_softmax(outputs / 3, dim=1))).sum(1).mean()
    assert torch.allclose(soft_label_loss(outputs, targets, 3.0), 9 * kl)
    labels = torch.tensor([0, 3, 9, 1, 1, 2])
    one_hot = F.one_hot(labels, 10).float()
    assert torch.allclose(soft_label_loss(outputs, one_hot, 1.0), F.cross_entropy(outputs, labels))


def digits_set(digits, per_class=3):
    images = torch.cat([digits.train.images[digits.train.labels == c][:per_class] for c in digits.classes])
    return images, torch.as_tensor(digits.classes).repeat_interleave(per_class)


def test_one_hot_soft_labels_train_as_hard_labels_and_soft_ones_differently(digits):
    """With DSA: batches index images and targets together; one-hot targets at T = 1 are the hard
    labels' training up to rounding, other targets a different network."""
    from benchmark.nets import create_network
    from benchmark.seeding import seeded

    images, labels = digits_set(digits)
    recipe = EvalRecipe(epochs=3, batch_size=8, dsa="color_crop_cutout_flip_scale_rotate", network_options={})

    def trained(**soft):
        net = seeded(0, lambda: create_network("MLP", 1, 8, 10, width=16))
        return train_network(net, images, labels, 0.01, recipe, 5, show_progress=False, **soft).state_dict()

    hard = trained()
    one_hot = trained(soft_targets=F.one_hot(labels, 10).float(), temperature=1.0)
    soft = trained(soft_targets=random_probabilities(len(labels), 10), temperature=2.0)
    assert all(torch.allclose(hard[k], one_hot[k], atol=1e-5) for k in hard)
    assert not all(torch.allclose(hard[k], soft[k], atol=1e-3) for k in hard)


def test_hard_labels_train_as_the_plain_recipe_bit_for_bit(digits):
    """Soft labels left the hard-label path alone: train_network without targets gives the weights of
    the recipe written out here (shuffled batches, DSA, cross-entropy, lr × 0.1 at half with a new
    optimizer), bit for bit."""
    from benchmark.augment.dsa import DSA
    from benchmark.nets import create_network
    from benchmark.seeding import generator, seeded

    images, labels = digits_set(digits)
    recipe = EvalRecipe(epochs=4, batch_size=8, dsa="color_crop_cutout_flip_scale_rotate", network_options={})
    fresh = lambda: seeded(0, lambda: create_network("MLP", 1, 8, 10, width=16))  # noqa: E731
    trained = train_network(fresh(), images, labels, 0.01, recipe, 5, show_progress=False,
                            compile_mode="off").state_dict()  # fmt: skip

    net, rng, dsa, lr = fresh().train(), generator(5), DSA(recipe.dsa), 0.01
    passes, decay_before = recipe.lr_schedule()
    sgd = lambda: torch.optim.SGD(net.parameters(), lr=lr, momentum=0.9, weight_decay=0.0005)  # noqa: E731
    optimizer = sgd()
    for epoch in range(passes):
        if epoch == decay_before and epoch > 0:
            lr *= 0.1
            optimizer = sgd()
        order = torch.randperm(len(labels), generator=rng)
        for start in range(0, len(labels), 8):
            batch = order[start : start + 8]
            loss = F.cross_entropy(net(dsa(images[batch], rng)), labels[batch])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
    assert all(torch.equal(trained[k], net.state_dict()[k]) for k in trained)


def test_train_and_test_uses_the_soft_label_loss_when_the_set_has_soft_labels(digits, monkeypatch):
    import benchmark.training.evaluate as evaluate

    calls = []
    monkeypatch.setattr(evaluate, "soft_label_loss", lambda *a: calls.append(a[2]) or soft_label_loss(*a))
    images, labels = digits_set(digits)
    recipe = EvalRecipe(epochs=2, batch_size=16, network_options={"width": 8})
    soft = SoftLabels(torch.randn(len(labels), 10), tuple(digits.classes), "logits", 4.0)
    train_and_test(EvaluationJob("ConvNet", digits, TrainingSet(images, labels, 0.01), recipe, 0))
    assert calls == []
    train_and_test(
        EvaluationJob("ConvNet", digits, TrainingSet(images, labels, 0.01, soft_labels=soft), recipe, 0)
    )
    assert calls and set(calls) == {4.0}


# ---- the continual memory ------------------------------------------------------------------------


def test_a_memory_joins_steps_over_all_classes_seen():
    first = TrainingSet(
        torch.zeros(2, 1),
        torch.tensor([0, 1]),
        soft_labels=SoftLabels(torch.tensor([[1.0, -1.0], [0.0, 2.0]]), (0, 1), "logits", 2.0),
    )
    second = TrainingSet(
        torch.zeros(2, 1),
        torch.tensor([2, 3]),
        soft_labels=SoftLabels(torch.tensor([[0.7, 0.3], [0.1, 0.9]]), (2, 3), "probabilities", 2.0),
    )
    hard = TrainingSet(torch.zeros(1, 1), torch.tensor([5]))  # fmt: skip
    joined = joined_soft_labels([first, second, hard])
    assert joined.classes == (0, 1, 2, 3, 5) and joined.kind == "probabilities" and joined.temperature == 2.0
    expected = torch.zeros(5, 5)
    expected[:2, :2] = torch.softmax(torch.tensor([[1.0, -1.0], [0.0, 2.0]]) / 2, dim=1)
    expected[2:4, 2:4] = torch.tensor([[0.7, 0.3], [0.1, 0.9]])
    expected[4, 4] = 1
    assert torch.allclose(joined.values, expected)
    assert joined_soft_labels([hard, hard]) is None
    other = TrainingSet(torch.zeros(1, 1), torch.tensor([4]),
                        soft_labels=SoftLabels(torch.zeros(1, 1), (4,), "logits", 1.0))  # fmt: skip
    with pytest.raises(UserInputError, match="several temperatures"):
        joined_soft_labels([first, other])


# ---- export and outside sets ---------------------------------------------------------------------


def digits_soft_buffer(digits, kind="logits", dtype=torch.float16) -> Buffer:
    images, _ = digits_set(digits, 2)
    values = torch.randn(len(images), 10) if kind == "logits" else random_probabilities(len(images), 10)
    buffer = pixel_buffer(
        images, digits.classes, SoftLabels(values.to(dtype), tuple(digits.classes), kind, 2.5)
    )
    buffer.manifest.update(dataset="digits", mean=list(digits.mean), std=list(digits.std),
                           class_names=[digits.class_names[c] for c in digits.classes])  # fmt: skip
    return buffer


@pytest.mark.parametrize("fmt", ["npz", "pt"])
def test_export_writes_the_soft_labels_and_an_outside_set_reads_them_back(digits, tmp_path, fmt):
    from benchmark.export import export_buffer
    from benchmark.external import read_outside_set

    buffer = digits_soft_buffer(digits)
    export_buffer(buffer, tmp_path / fmt, fmt)
    path = tmp_path / fmt / f"buffer.{fmt}"
    if fmt == "npz":
        with np.load(path, allow_pickle=False) as npz:
            assert npz["soft_labels"].dtype == np.float16 and str(npz["soft_label_kind"]) == "logits"
            assert float(npz["soft_label_temperature"]) == 2.5
    info = json.loads((tmp_path / fmt / "buffer.json").read_text())
    assert info["content"]["soft_labels"] == {"kind": "logits", "temperature": 2.5}
    outside = read_outside_set(path, "preprocessed", digits)
    assert torch.equal(outside.soft_labels.values, buffer.tensors["soft_labels"])
    assert (outside.soft_labels.kind, outside.soft_labels.temperature) == ("logits", 2.5)
    assert outside.storage == buffer.storage == 20 * 64 + 20 * 10 * 0.5


def test_an_outside_set_without_soft_labels_counts_as_before_and_bad_ones_are_refused(digits, tmp_path):
    from benchmark.external import read_outside_set

    images, labels = digits_set(digits, 2)
    np.savez(tmp_path / "hard.npz", images=images.numpy(), labels=labels.numpy())
    hard = read_outside_set(tmp_path / "hard.npz", "preprocessed", digits)
    assert hard.soft_labels is None and hard.storage == 20 * 64
    np.savez(
        tmp_path / "bad.npz", images=images.numpy(), labels=labels.numpy(), soft_labels=np.ones((20, 10))
    )
    with pytest.raises(UserInputError, match="sum to 1"):
        read_outside_set(tmp_path / "bad.npz", "preprocessed", digits)
    soft = random_probabilities(20, 10).numpy()
    np.savez(tmp_path / "soft.npz", images=images.numpy(), labels=labels.numpy(), soft_labels=soft)
    outside = read_outside_set(tmp_path / "soft.npz", "preprocessed", digits)
    assert outside.soft_labels.kind == "probabilities" and outside.storage == 20 * 64 + 20 * 10
    assert outside.sha256 != hard.sha256


# ---- records, tables and the example plugin -------------------------------------------------------


def test_hard_label_records_keep_their_fields():
    from benchmark.results.record import Record

    config = {"dataset": "digits", "suite": "standard", "profile": "smoke", "spec": "random",
              "strategy": "random", "network": "ConvNet", "ipc": 1, "repeat": 0}  # fmt: skip
    hard = Record(config, "ok", metrics={"accuracy": 0.5})
    assert "soft_labels" not in hard.to_json()
    soft = Record(config, "ok", metrics={"accuracy": 0.5}, soft_labels={"kind": "logits", "loss": "kl"})
    assert Record.from_json(json.loads(json.dumps(soft.to_json()))).soft_labels == soft.soft_labels
    assert Record.from_json(json.loads(json.dumps(hard.to_json()))).soft_labels is None


def test_soft_random_fits_images_and_labels_within_the_budget(tmp_path, monkeypatch):
    import benchmark.training.evaluate as evaluate
    from benchmark.cli import main
    from benchmark.report.tables import SOFT_MARK, build_tables
    from benchmark.results.store import ResultStore

    temperatures = []
    monkeypatch.setattr(
        evaluate, "soft_label_loss", lambda *a: temperatures.append(a[2]) or soft_label_loss(*a)
    )
    out = tmp_path / "results"
    plugin = str(ROOT / "examples" / "soft_random.py")
    args = ["--plugin", plugin, "run", "--profile", "smoke", "--no-progress", "--device", "cpu",
            "--strategies", "soft_random:teacher_steps=50", "--ipc", "1,2",
            "--output-dir", str(out)]  # fmt: skip
    assert main(args) == 0
    records = ResultStore(out).records("standard")
    by_ipc = {r.config["ipc"]: r for r in records if r.config["repeat"] == 0}
    assert by_ipc[1].status == "does_not_fit"  # 10 × (64 + 10) > 640
    ok = [r for r in records if r.status == "ok"]
    assert ok and all(r.config["ipc"] == 2 for r in ok)
    for record in ok:
        assert record.storage == 10 * 64 + 10 * 10 <= record.budget == 1280  # one image per class
        assert record.soft_labels == {"kind": "logits", "temperature": 4.0, "loss": "kl"}
        assert "soft_label_loss" not in record.config["eval_recipe"]
    assert set(temperatures) == {4.0}
    (table,) = build_tables(records)
    assert table.storage[("soft_random",)].endswith(f"IPC 2: 740 / 1,280{SOFT_MARK}")
    assert list((out / "cache" / "soft_random_teacher").glob("*.safetensors"))
