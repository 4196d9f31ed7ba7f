import gzip

import numpy as np
import pytest
import torch

from benchmark.data import DatasetOptions, load_dataset
from benchmark.data.idx import write_idx
from benchmark.data.normalize import denormalize
from benchmark.data.splits import class_balanced_holdout
from benchmark.errors import CorruptFileError, DatasetNotFoundError


def write_fashion(folder, n_train=40, n_test=20, seed=0):
    rng = np.random.default_rng(seed)
    arrays = {
        "train-images-idx3-ubyte.gz": rng.integers(0, 256, (n_train, 28, 28), dtype=np.uint8),
        "train-labels-idx1-ubyte.gz": np.arange(n_train, dtype=np.uint8) % 10,
        "t10k-images-idx3-ubyte.gz": rng.integers(0, 256, (n_test, 28, 28), dtype=np.uint8),
        "t10k-labels-idx1-ubyte.gz": np.arange(n_test, dtype=np.uint8) % 10,
    }
    folder.mkdir(parents=True, exist_ok=True)
    for name, array in arrays.items():
        write_idx(folder / name, array)
    return arrays


def test_fashion_mnist_loader_returns_exactly_what_was_written(tmp_path):
    arrays = write_fashion(tmp_path / "FashionMNIST" / "raw")
    data = load_dataset("fashion_mnist", DatasetOptions(data_root=tmp_path, val_fraction=0.25))
    test = denormalize(data.test.images, data.mean, data.std)
    expected = torch.from_numpy(arrays["t10k-images-idx3-ubyte.gz"]).float().unsqueeze(1) / 255
    assert torch.allclose(test, expected, atol=1e-5)
    assert data.test.labels.tolist() == arrays["t10k-labels-idx1-ubyte.gz"].tolist()
    # train + val together are exactly the written training set
    both = torch.cat([data.train.images, data.val.images])
    both = denormalize(both, data.mean, data.std)
    written = torch.from_numpy(arrays["train-images-idx3-ubyte.gz"]).float().unsqueeze(1) / 255
    assert sorted(map(tuple, (both.flatten(1) * 255).round().int().tolist())) == sorted(
        map(tuple, (written.flatten(1) * 255).round().int().tolist())
    )
    assert len(data.val) == 10 and data.image_shape == (1, 28, 28)


def test_validation_split_is_disjoint_balanced_seeded_and_stable():
    labels = torch.arange(200) % 10
    kept, held = class_balanced_holdout(labels, 0.1, seed=3)
    assert set(kept.tolist()).isdisjoint(held.tolist())
    assert len(kept) + len(held) == 200
    assert torch.bincount(labels[held]).tolist() == [2] * 10
    again_kept, again_held = class_balanced_holdout(labels, 0.1, seed=3)
    assert torch.equal(held, again_held) and torch.equal(kept, again_kept)
    _, other = class_balanced_holdout(labels, 0.1, seed=4)
    assert not torch.equal(held, other)


def test_missing_dataset_names_every_path_tried(tmp_path, monkeypatch):
    import benchmark.data.fashion_mnist as fm

    monkeypatch.setattr(fm, "DEBIAN_FOLDER", tmp_path / "nowhere")
    with pytest.raises(DatasetNotFoundError) as error:  # a given root only: never a silent fall-back
        load_dataset("fashion_mnist", DatasetOptions(data_root=tmp_path / "root"))
    message = str(error.value)
    assert str(tmp_path / "root") in message and str(tmp_path / "nowhere") not in message
    assert "apt-get install dataset-fashion-mnist" in message
    monkeypatch.setattr(fm.Path, "expanduser", lambda self: tmp_path / "nowhere" / self.name)  # no cache
    with pytest.raises(DatasetNotFoundError) as error:  # without a root: the system folders
        load_dataset("fashion_mnist", DatasetOptions())
    assert str(tmp_path / "nowhere") in str(error.value)


def test_truncated_file_is_named(tmp_path):
    write_fashion(tmp_path)
    path = tmp_path / "t10k-images-idx3-ubyte.gz"
    raw = gzip.decompress(path.read_bytes())
    path.write_bytes(gzip.compress(raw[:-100]))
    with pytest.raises(CorruptFileError, match="t10k-images-idx3-ubyte.gz"):
        load_dataset("fashion_mnist", DatasetOptions(data_root=tmp_path))
    path.write_bytes(b"not gzip at all")
    with pytest.raises(CorruptFileError, match="t10k-images-idx3-ubyte.gz"):
        load_dataset("fashion_mnist", DatasetOptions(data_root=tmp_path))


def test_digits_has_fixed_test_split_and_train_statistics(digits):
    assert digits.image_shape == (1, 8, 8)
    assert len(digits.train) + len(digits.val) + len(digits.test) == 1797
    again = load_dataset("digits", DatasetOptions(split_seed=1))
    assert torch.equal(digits.test.labels, again.test.labels)
    assert abs(float(digits.train.images.mean())) < 1e-4
