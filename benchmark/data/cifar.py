"""CIFAR-10 and CIFAR-100 from the python pickle batches as distributed (and as torchvision keeps them).

The files are Python 2 pickles: dicts of byte-string keys holding a uint8 ``data`` array (n, 3072,
channel-major) and a list of labels. They are read with a restricted unpickler that can build only
those containers and numpy arrays, never any other object.
"""

from __future__ import annotations

import pickle
from pathlib import Path
from typing import Any

import numpy as np

from benchmark.data.build import build_classdata, to_float_images
from benchmark.data.classdata import ClassData, DatasetOptions
from benchmark.data.locate import download, find_file, first_folder_with
from benchmark.errors import CorruptFileError

try:  # numpy 2
    from numpy._core.multiarray import _reconstruct
except ImportError:  # numpy 1
    from numpy.core.multiarray import _reconstruct

CIFAR10_MEAN, CIFAR10_STD = (0.4914, 0.4822, 0.4465), (0.2023, 0.1994, 0.2010)
CIFAR100_MEAN, CIFAR100_STD = (0.5071, 0.4865, 0.4409), (0.2673, 0.2564, 0.2762)
CIFAR10_FOLDER, CIFAR100_FOLDER = "cifar-10-batches-py", "cifar-100-python"
CIFAR10_TRAIN = [f"data_batch_{i}" for i in range(1, 6)]
CIFAR10_FILES = [*CIFAR10_TRAIN, "test_batch", "batches.meta"]
CIFAR100_FILES = ["train", "test", "meta"]
CACHE_ROOT = Path("~/.cache/distill-benchmark")
HOW_TO_GET = (
    "Download the 'CIFAR-{n} python version' archive ({archive}) from Alex Krizhevsky's CIFAR page "
    "(www.cs.toronto.edu/~kriz/cifar.html) and unpack it under --data-root, or pass --download to fetch it "
    "with torchvision."
)

# The only globals a CIFAR pickle needs: numpy's array reconstruction (under numpy 1 and 2 names).
_ALLOWED = {
    ("numpy.core.multiarray", "_reconstruct"),
    ("numpy._core.multiarray", "_reconstruct"),
    ("numpy", "ndarray"),
    ("numpy", "dtype"),
}


class _CifarUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        if (module, name) not in _ALLOWED:
            raise pickle.UnpicklingError(f"refusing to load global {module}.{name}")
        return _reconstruct if name == "_reconstruct" else getattr(np, name)


def read_cifar_pickle(path: Path) -> dict[str, Any]:
    """The dict stored in one CIFAR pickle, keys decoded to str; CorruptFileError if it is not one."""
    try:
        with open(path, "rb") as handle:
            obj = _CifarUnpickler(handle, encoding="bytes").load()
    except Exception as error:  # a damaged pickle can fail in many ways; all mean the same to the user
        raise CorruptFileError(
            f"{path} is not a readable CIFAR pickle ({type(error).__name__}: {error}); "
            "the file is truncated or damaged, fetch the dataset again"
        ) from error
    if not isinstance(obj, dict):
        raise CorruptFileError(f"{path} holds a {type(obj).__name__}, not a CIFAR dict; fetch it again")
    return {k.decode("latin1") if isinstance(k, bytes) else str(k): v for k, v in obj.items()}


def _batch(path: Path, label_key: str, num_classes: int) -> tuple[np.ndarray, np.ndarray]:
    """(images uint8 (n, 32, 32, 3), labels int64 (n,)) of one CIFAR batch file."""
    batch = read_cifar_pickle(path)
    if "data" not in batch or label_key not in batch:
        raise CorruptFileError(f"{path} lacks the 'data' or '{label_key}' entry of a CIFAR batch")
    data = np.asarray(batch["data"])
    labels = np.asarray(batch[label_key], dtype=np.int64)
    if data.dtype != np.uint8 or data.ndim != 2 or data.shape[1] != 3 * 32 * 32:
        raise CorruptFileError(f"{path}: 'data' is {data.dtype} {data.shape}, expected uint8 (n, 3072)")
    if labels.shape != (len(data),):
        raise CorruptFileError(f"{path}: {len(data)} images but {labels.size} labels")
    if labels.size and (labels.min() < 0 or labels.max() >= num_classes):
        raise CorruptFileError(f"{path}: labels outside 0..{num_classes - 1}")
    return data.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1), labels


def _names(path: Path, key: str, expected: int) -> list[str]:
    names = read_cifar_pickle(path).get(key)
    if not isinstance(names, list) or len(names) != expected:
        raise CorruptFileError(f"{path}: '{key}' should list {expected} class names")
    return [n.decode("utf-8") if isinstance(n, bytes) else str(n) for n in names]


def _folder(options: DatasetOptions, folder_name: str, required: list[str], dataset: str, how: str) -> Path:
    root = Path(options.data_root).expanduser() if options.data_root else None
    if options.download:
        from torchvision.datasets import CIFAR10, CIFAR100

        root = root or CACHE_ROOT.expanduser()
        cls = CIFAR10 if dataset == "CIFAR-10" else CIFAR100
        for train in (True, False):
            download(lambda t=train: cls(str(root), train=t, download=True), dataset, root)
    # a given root only (a root without the files is an error, never a silent fall-back)
    candidates = [root / folder_name, root] if root is not None else [CACHE_ROOT / folder_name]
    return first_folder_with(candidates, required, dataset, how)


def _assemble(
    name: str,
    class_names: list[str],
    train: list[tuple[np.ndarray, np.ndarray]],
    test: tuple[np.ndarray, np.ndarray],
    options: DatasetOptions,
    mean: tuple[float, ...],
    std: tuple[float, ...],
    folder: Path,
) -> ClassData:
    train_x = to_float_images(np.concatenate([x for x, _ in train]))
    train_y = np.concatenate([y for _, y in train])
    return build_classdata(
        name, class_names, train_x, train_y, to_float_images(test[0]), test[1], options, mean, std,
        source=str(folder),
    )  # fmt: skip


def load_cifar10(options: DatasetOptions) -> ClassData:
    """CIFAR-10, 10 classes, 32×32×3."""
    how = HOW_TO_GET.format(n=10, archive="cifar-10-python.tar.gz")
    folder = _folder(options, CIFAR10_FOLDER, CIFAR10_FILES, "CIFAR-10", how)
    train = [_batch(find_file(folder, f), "labels", 10) for f in CIFAR10_TRAIN]
    test = _batch(find_file(folder, "test_batch"), "labels", 10)
    names = _names(find_file(folder, "batches.meta"), "label_names", 10)
    return _assemble("cifar10", names, train, test, options, CIFAR10_MEAN, CIFAR10_STD, folder)


def load_cifar100(options: DatasetOptions) -> ClassData:
    """CIFAR-100, 100 fine classes, 32×32×3 (its own mean/std, decision 13)."""
    how = HOW_TO_GET.format(n=100, archive="cifar-100-python.tar.gz")
    folder = _folder(options, CIFAR100_FOLDER, CIFAR100_FILES, "CIFAR-100", how)
    train = [_batch(find_file(folder, "train"), "fine_labels", 100)]
    test = _batch(find_file(folder, "test"), "fine_labels", 100)
    names = _names(find_file(folder, "meta"), "fine_label_names", 100)
    return _assemble("cifar100", names, train, test, options, CIFAR100_MEAN, CIFAR100_STD, folder)
