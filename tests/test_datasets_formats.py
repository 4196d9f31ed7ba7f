"""Each loader on tiny trees written in the dataset's real on-disk format."""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from benchmark.data import DatasetOptions, load_dataset
from benchmark.data.classdata import ClassData, Split
from benchmark.data.idx import write_idx
from benchmark.data.imagenet_subsets import SUBSETS
from benchmark.data.normalize import denormalize
from benchmark.errors import CorruptFileError, DatasetNotFoundError
from benchmark.registries import DATASETS

NEW_DATASETS = ["mnist", "cifar10", "cifar100", "tinyimagenet", *SUBSETS]


def options(root: Path, **kw) -> DatasetOptions:
    return DatasetOptions(data_root=root, val_fraction=0.0, **kw)


def pixels(data: ClassData, split: Split) -> np.ndarray:
    """Back to uint8 (n, H, W, C) as written."""
    raw = denormalize(split.images, data.mean, data.std)
    return (raw * 255).round().clamp(0, 255).to(torch.uint8).permute(0, 2, 3, 1).numpy()


def test_every_new_dataset_is_registered_lazily():
    for name in NEW_DATASETS:
        assert name in DATASETS
        assert callable(DATASETS.get(name))


# ---------------------------------------------------------------- MNIST (idx)


def write_mnist(folder: Path, rng: np.random.Generator) -> dict[str, np.ndarray]:
    folder.mkdir(parents=True, exist_ok=True)
    arrays = {
        "train-images-idx3-ubyte": rng.integers(0, 256, (20, 28, 28), dtype=np.uint8),
        "train-labels-idx1-ubyte": np.repeat(np.arange(10, dtype=np.uint8), 2),
        "t10k-images-idx3-ubyte": rng.integers(0, 256, (10, 28, 28), dtype=np.uint8),
        "t10k-labels-idx1-ubyte": np.arange(10, dtype=np.uint8)[::-1].copy(),
    }
    for name, array in arrays.items():
        write_idx(folder / f"{name}.gz", array)
    return arrays


def test_mnist_torchvision_layout(tmp_path):
    arrays = write_mnist(tmp_path / "MNIST" / "raw", np.random.default_rng(0))
    data = load_dataset("mnist", options(tmp_path))
    assert data.class_names == [str(d) for d in range(10)] and data.image_shape == (1, 28, 28)
    assert data.mean == (0.1307,) and data.std == (0.3081,)
    assert np.array_equal(pixels(data, data.train)[..., 0], arrays["train-images-idx3-ubyte"])
    assert data.train.labels.tolist() == arrays["train-labels-idx1-ubyte"].tolist()
    assert np.array_equal(pixels(data, data.test)[..., 0], arrays["t10k-images-idx3-ubyte"])
    assert data.test.labels.tolist() == arrays["t10k-labels-idx1-ubyte"].tolist()


def test_mnist_missing_and_truncated(tmp_path):
    with pytest.raises(DatasetNotFoundError) as missing:
        load_dataset("mnist", options(tmp_path))
    assert str(tmp_path / "MNIST" / "raw") in str(missing.value) and "LeCun" in str(missing.value)
    write_mnist(tmp_path, np.random.default_rng(1))
    bad = tmp_path / "t10k-images-idx3-ubyte.gz"
    bad.write_bytes(bad.read_bytes()[:40])
    with pytest.raises(CorruptFileError, match="t10k-images-idx3-ubyte"):
        load_dataset("mnist", options(tmp_path))


# ---------------------------------------------------------------- CIFAR (python 2 pickles)


class Py2Pickler(pickle._Pickler):
    """Writes pickles as Python 2's cPickle did for CIFAR: str/bytes as byte strings, numpy 1 names."""

    dispatch = dict(pickle._Pickler.dispatch)

    def save_py2_string(self, obj):
        data = obj.encode("latin1") if isinstance(obj, str) else obj
        if len(data) < 256:
            self.write(pickle.SHORT_BINSTRING + bytes([len(data)]) + data)
        else:
            self.write(pickle.BINSTRING + len(data).to_bytes(4, "little") + data)
        self.memoize(obj)

    dispatch[bytes] = save_py2_string
    dispatch[str] = save_py2_string

    def save_global(self, obj, name=None):
        if getattr(obj, "__name__", "") == "_reconstruct":
            self.write(pickle.GLOBAL + b"numpy.core.multiarray\n_reconstruct\n")
            self.memoize(obj)
        else:
            super().save_global(obj, name)

    dispatch[type(len)] = save_global


def dump_py2(path: Path, obj) -> None:
    with open(path, "wb") as handle:
        Py2Pickler(handle, protocol=2).dump(obj)


def cifar_batch(images: np.ndarray, labels: list[int], label_key: str) -> dict:
    """``images`` uint8 (n, 32, 32, 3) stored as the distribution does: (n, 3072), channel-major rows."""
    return {
        b"batch_label": b"a batch",
        label_key.encode(): labels,
        b"data": images.transpose(0, 3, 1, 2).reshape(len(images), -1).copy(),
        b"filenames": [f"img_{i}.png".encode() for i in range(len(images))],
    }


def write_cifar10(folder: Path, rng) -> tuple[np.ndarray, list[int], np.ndarray, list[int], list[str]]:
    folder.mkdir(parents=True)
    train_x, train_y = [], []
    for b in range(1, 6):
        x = rng.integers(0, 256, (4, 32, 32, 3), dtype=np.uint8)
        y = [b + 4, b - 1, b - 1, b + 4]  # each class twice over the five batches
        dump_py2(folder / f"data_batch_{b}", cifar_batch(x, y, "labels"))
        train_x.append(x)
        train_y += y
    test_x = rng.integers(0, 256, (3, 32, 32, 3), dtype=np.uint8)
    test_y = [9, 0, 4]
    dump_py2(folder / "test_batch", cifar_batch(test_x, test_y, "labels"))
    names = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]
    dump_py2(
        folder / "batches.meta", {b"num_cases_per_batch": 10000, b"label_names": names, b"num_vis": 3072}
    )
    return np.concatenate(train_x), train_y, test_x, test_y, names


@pytest.mark.parametrize("layout", ["torchvision", "folder itself"])
def test_cifar10_pickles(tmp_path, layout):
    folder = tmp_path / "cifar-10-batches-py"
    train_x, train_y, test_x, test_y, names = write_cifar10(folder, np.random.default_rng(2))
    data = load_dataset("cifar10", options(tmp_path if layout == "torchvision" else folder))
    assert data.class_names == names and data.image_shape == (3, 32, 32)
    assert data.mean == (0.4914, 0.4822, 0.4465) and data.std == (0.2023, 0.1994, 0.2010)
    assert np.array_equal(pixels(data, data.train), train_x)
    assert data.train.labels.tolist() == train_y
    assert np.array_equal(pixels(data, data.test), test_x)
    assert data.test.labels.tolist() == test_y


def test_cifar10_val_holdout_comes_from_train(tmp_path):
    write_cifar10(tmp_path / "cifar-10-batches-py", np.random.default_rng(3))
    data = load_dataset("cifar10", DatasetOptions(data_root=tmp_path, val_fraction=0.5))
    assert len(data.train) == len(data.val) == 10 and len(data.test) == 3
    assert sorted(data.val.labels.tolist()) == list(range(10))


def test_cifar100_fine_labels(tmp_path):
    folder = tmp_path / "cifar-100-python"
    folder.mkdir()
    rng = np.random.default_rng(4)
    train_x = rng.integers(0, 256, (4, 32, 32, 3), dtype=np.uint8)
    test_x = rng.integers(0, 256, (2, 32, 32, 3), dtype=np.uint8)
    train, test = (
        cifar_batch(train_x, [0, 5, 99, 42], "fine_labels"),
        cifar_batch(test_x, [7, 99], "fine_labels"),
    )
    train[b"coarse_labels"], test[b"coarse_labels"] = [0, 1, 19, 2], [3, 19]
    dump_py2(folder / "train", train)
    dump_py2(folder / "test", test)
    fine = [f"fine{i}" for i in range(100)]
    dump_py2(
        folder / "meta", {b"fine_label_names": fine, b"coarse_label_names": [f"c{i}" for i in range(20)]}
    )
    data = load_dataset("cifar100", options(tmp_path))
    assert data.class_names == fine and data.num_classes == 100
    assert data.mean == (0.5071, 0.4865, 0.4409) and data.std == (0.2673, 0.2564, 0.2762)
    assert np.array_equal(pixels(data, data.train), train_x) and data.train.labels.tolist() == [0, 5, 99, 42]
    assert np.array_equal(pixels(data, data.test), test_x) and data.test.labels.tolist() == [7, 99]


def test_cifar_missing_names_paths_and_source(tmp_path):
    for name, archive in (("cifar10", "cifar-10-python.tar.gz"), ("cifar100", "cifar-100-python.tar.gz")):
        with pytest.raises(DatasetNotFoundError) as missing:
            load_dataset(name, options(tmp_path))
        message = str(missing.value)
        assert str(tmp_path) in message and archive in message and "cs.toronto.edu" in message


def test_cifar_truncated_pickle_names_the_file(tmp_path):
    folder = tmp_path / "cifar-10-batches-py"
    write_cifar10(folder, np.random.default_rng(5))
    bad = folder / "data_batch_3"
    bad.write_bytes(bad.read_bytes()[:300])
    with pytest.raises(CorruptFileError, match="data_batch_3"):
        load_dataset("cifar10", options(tmp_path))


def test_cifar_pickle_with_foreign_global_is_refused(tmp_path):
    folder = tmp_path / "cifar-10-batches-py"
    write_cifar10(folder, np.random.default_rng(6))
    marker = tmp_path / "pwned"

    class Evil:
        def __reduce__(self):
            return (Path.touch, (marker,))

    with open(folder / "test_batch", "wb") as handle:
        pickle.dump({b"data": Evil(), b"labels": []}, handle, protocol=2)
    with pytest.raises(CorruptFileError, match="test_batch"):
        load_dataset("cifar10", options(tmp_path))
    assert not marker.exists()


# ---------------------------------------------------------------- TinyImageNet


def jpeg(path: Path, rng, size=(64, 64), mode="RGB") -> np.ndarray:
    """Write a JPEG and return what it decodes to (RGB uint8), i.e. what is on disk."""
    path.parent.mkdir(parents=True, exist_ok=True)
    shape = (size[1], size[0], 3) if mode == "RGB" else (size[1], size[0])
    Image.fromarray(rng.integers(0, 256, shape, dtype=np.uint8), mode).save(path, "JPEG")
    with Image.open(path) as image:
        return np.asarray(image.convert("RGB"))


WNIDS = ["n03000000", "n01000000", "n02000000"]  # deliberately unsorted, as in wnids.txt


def write_tinyimagenet(root: Path, val_layout: str, rng) -> tuple[list, list, list, list]:
    root.mkdir(parents=True)
    (root / "wnids.txt").write_text("\n".join(WNIDS) + "\n")
    words = ["n01000000\tgoldfish, Carassius auratus", "n02000000\tcat", "n03000000\tteapot", "n09\tother"]
    (root / "words.txt").write_text("\n".join(words) + "\n")
    train, train_y = [], []
    for label, wnid in enumerate(sorted(WNIDS)):
        for i in range(2):
            mode = "L" if (label, i) == (1, 1) else "RGB"  # the real data has some grayscale JPEGs
            train.append(jpeg(root / "train" / wnid / "images" / f"{wnid}_{i}.JPEG", rng, mode=mode))
            train_y.append(label)
        (root / "train" / wnid / f"{wnid}_boxes.txt").write_text("")
    val, val_y, lines = [], [], []
    for i, wnid in enumerate(["n02000000", "n03000000", "n01000000", "n02000000"]):
        name = f"val_{i}.JPEG"
        if val_layout == "flat":
            val.append(jpeg(root / "val" / "images" / name, rng))
            lines.append(f"{name}\t{wnid}\t0\t0\t63\t63")
        else:
            val.append(jpeg(root / "val" / wnid / "images" / name, rng))
        val_y.append(sorted(WNIDS).index(wnid))
    if val_layout == "flat":
        (root / "val" / "val_annotations.txt").write_text("\n".join(lines) + "\n")
    else:  # re-sorted: the loader reads class folders in class order, files sorted by name
        order = sorted(range(len(val)), key=lambda k: (val_y[k], f"val_{k}.JPEG"))
        val, val_y = [val[k] for k in order], [val_y[k] for k in order]
    return train, train_y, val, val_y


@pytest.mark.parametrize("val_layout", ["flat", "class folders"])
def test_tinyimagenet_layouts(tmp_path, val_layout):
    train, train_y, val, val_y = write_tinyimagenet(
        tmp_path / "tiny-imagenet-200", val_layout, np.random.default_rng(7)
    )
    data = load_dataset("tinyimagenet", options(tmp_path))
    assert data.class_names == ["goldfish", "cat", "teapot"] and data.image_shape == (3, 64, 64)
    assert data.mean == (0.485, 0.456, 0.406) and data.std == (0.229, 0.224, 0.225)
    assert np.array_equal(pixels(data, data.train), np.stack(train)) and data.train.labels.tolist() == train_y
    assert np.array_equal(pixels(data, data.test), np.stack(val)) and data.test.labels.tolist() == val_y


def test_tinyimagenet_missing_and_corrupt(tmp_path):
    with pytest.raises(DatasetNotFoundError) as missing:
        load_dataset("tinyimagenet", options(tmp_path))
    message = str(missing.value)
    assert str(tmp_path / "tiny-imagenet-200") in message and "tiny-imagenet-200.zip" in message
    write_tinyimagenet(tmp_path / "tiny-imagenet-200", "flat", np.random.default_rng(8))
    bad = tmp_path / "tiny-imagenet-200" / "val" / "images" / "val_2.JPEG"
    bad.write_bytes(bad.read_bytes()[:100])
    with pytest.raises(CorruptFileError, match="val_2.JPEG"):
        load_dataset("tinyimagenet", options(tmp_path))


# ---------------------------------------------------------------- ImageNet subsets


def write_imagenet(root: Path, wnids: list[str], rng, extra: list[str] = ()) -> dict[str, list]:
    images: dict[str, list] = {"train": [], "val": []}
    for split, count in (("train", 2), ("val", 1)):
        for wnid in list(wnids) + list(extra):
            for i in range(count):
                size = (int(rng.integers(20, 60)), int(rng.integers(20, 60)))
                array = rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)
                path = root / split / wnid / f"{wnid}_{i}.png"
                path.parent.mkdir(parents=True, exist_ok=True)
                Image.fromarray(array).save(path)
                if wnid in wnids:
                    images[split].append(Image.fromarray(array))
    return images


def test_imagenet_subset_from_a_larger_tree(tmp_path):
    from torchvision.transforms import CenterCrop, Resize

    wnids = SUBSETS["imagewoof"]
    images = write_imagenet(tmp_path, wnids, np.random.default_rng(9), extra=["n09999999"])
    data = load_dataset("imagewoof", options(tmp_path))
    assert data.class_names == wnids and data.image_shape == (3, 128, 128)
    assert data.mean == (0.485, 0.456, 0.406) and data.std == (0.229, 0.224, 0.225)
    assert data.train.labels.tolist() == [c for c in range(10) for _ in range(2)]
    assert data.test.labels.tolist() == list(range(10))
    expected = np.stack([np.asarray(CenterCrop(128)(Resize((128, 128))(im))) for im in images["train"]])
    assert np.array_equal(pixels(data, data.train), expected)
    assert pixels(data, data.test).shape == (10, 128, 128, 3)


def test_imagenet_subsets_have_their_protocol_classes():
    assert {k: len(v) for k, v in SUBSETS.items()} == {k: 10 for k in SUBSETS}
    assert SUBSETS["imagenette"][0] == "n01440764" and SUBSETS["imageyellow"][-1] == "n01531178"


def test_imagenet_subset_missing_folder(tmp_path):
    wnids = SUBSETS["imagenette"]
    write_imagenet(tmp_path, wnids[:9], np.random.default_rng(10))
    with pytest.raises(DatasetNotFoundError) as missing:
        load_dataset("imagenette", options(tmp_path))
    assert str(tmp_path) in str(missing.value) and "image-net.org" in str(missing.value)
    with pytest.raises(DatasetNotFoundError, match="no --data-root"):
        load_dataset("imagenette", DatasetOptions())
