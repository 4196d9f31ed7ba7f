import pickle

import pytest
import torch

from benchmark.budget import Budget, tensor_storage
from benchmark.buffer import LR_KEY, Buffer
from benchmark.errors import BudgetExceededError, CorruptFileError, UserInputError


def pixel(n=4, dtype=torch.float32, dataset="digits"):
    images = torch.arange(n * 64, dtype=torch.float32).reshape(n, 1, 8, 8).to(dtype)
    return Buffer("pixels", {"images": images}, {"classes": [0, 1], "dataset": dataset, "strategy": "x"})


def test_budget_is_ipc_times_classes_times_native_image_size():
    assert Budget(1, 10, (1, 28, 28)).floats == 7840
    assert Budget(10, 10, (3, 32, 32)).floats == 307_200
    with pytest.raises(UserInputError, match="ipc must be a positive integer"):
        Budget(0, 10, (1, 28, 28))


@pytest.mark.parametrize(
    "dtype,per_value", [(torch.float32, 1.0), (torch.float16, 0.5), (torch.uint8, 0.25), (torch.float64, 2.0)]
)
def test_storage_counts_bytes_over_four(dtype, per_value):
    assert tensor_storage(torch.zeros(10, dtype=dtype)) == 10 * per_value
    assert pixel(dtype=dtype).storage == 4 * 64 * per_value


def test_one_scalar_lr_is_exempt_but_anything_else_counts():
    buffer = pixel()
    buffer.tensors[LR_KEY] = torch.tensor([0.01])
    assert buffer.storage == 256 and buffer.learned_lr == pytest.approx(0.01)
    buffer.tensors[LR_KEY] = torch.tensor([0.01, 0.02])  # not one scalar: counted
    assert buffer.storage == 258
    buffer.tensors = {"images": buffer.tensors["images"], "soft_labels": torch.zeros(4, 2)}
    assert buffer.storage == 264


def test_over_budget_is_rejected_naming_storage_budget_and_strategy():
    with pytest.raises(BudgetExceededError, match=r"'x' stores 256 .* is 128"):
        pixel().check(Budget(1, 2, (1, 8, 8)))
    pixel().check(Budget(2, 2, (1, 8, 8)))


def test_round_trip_keeps_payload_and_manifest(tmp_path):
    buffer = pixel()
    buffer.tensors[LR_KEY] = torch.tensor([0.02])
    path = buffer.save(tmp_path / "b.safetensors")
    loaded = Buffer.load(path, expected_dataset="digits")
    assert torch.equal(loaded.tensors["images"], buffer.tensors["images"])
    assert loaded.manifest == buffer.manifest and loaded.manifest["sha256"]
    images, labels, lr = loaded.materialize()
    assert labels.tolist() == [0, 0, 1, 1] and lr == pytest.approx(0.02)


def test_pickle_truncated_tampered_and_other_dataset_files_are_refused(tmp_path):
    pickled = tmp_path / "p.safetensors"
    pickled.write_bytes(pickle.dumps({"images": [1, 2, 3]}))
    with pytest.raises(CorruptFileError, match="not a buffer file"):
        Buffer.load(pickled)
    good = pixel().save(tmp_path / "good.safetensors")
    data = good.read_bytes()
    truncated = tmp_path / "t.safetensors"
    truncated.write_bytes(data[: len(data) - 40])
    with pytest.raises(CorruptFileError):
        Buffer.load(truncated)
    tampered = tmp_path / "x.safetensors"
    tampered.write_bytes(data[:-1] + bytes([data[-1] ^ 1]))
    with pytest.raises(CorruptFileError, match="checksum"):
        Buffer.load(tampered)
    with pytest.raises(UserInputError, match="made for dataset 'digits', not 'fashion_mnist'"):
        Buffer.load(good, expected_dataset="fashion_mnist")
