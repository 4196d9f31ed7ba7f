"""Fashion-MNIST from its gzipped idx files (Debian's dataset-fashion-mnist, torchvision, or a root)."""

from __future__ import annotations

from pathlib import Path

import torch

from benchmark.data.build import build_classdata, to_float_images
from benchmark.data.classdata import ClassData, DatasetOptions
from benchmark.data.idx import read_idx
from benchmark.data.locate import download, find_file, first_folder_with
from benchmark.errors import CorruptFileError

CLASS_NAMES = [
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
]
# The constants the DC/DM references normalise with (train-set statistics).
MEAN, STD = (0.2861,), (0.3530,)
DEBIAN_FOLDER = Path("/usr/share/datasets/fashion-mnist")
FILES = [
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
]
HOW_TO_GET = (
    "Install it with 'apt-get install dataset-fashion-mnist' (Debian/Ubuntu), or pass "
    "--download to fetch it with torchvision, or point --data-root at a folder holding the idx files."
)


def idx_candidates(root: Path | None, torchvision_folder: str, extra: list[Path]) -> list[Path]:
    """Folders to search: a given root itself and its torchvision layout (only those: a root that
    lacks the files is an error, never a silent fall-back), else the system folders."""
    if root is not None:
        return [root, root / torchvision_folder / "raw", root / torchvision_folder.lower()]
    return extra


def load_idx_dataset(folder: Path) -> tuple[torch.Tensor, ...]:
    """(train images, train labels, test images, test labels) of an MNIST-layout folder."""
    arrays = [read_idx(find_file(folder, name)) for name in FILES]
    for images, labels, name in ((arrays[0], arrays[1], FILES[0]), (arrays[2], arrays[3], FILES[2])):
        if len(images) != len(labels):
            raise CorruptFileError(
                f"{folder / name}: {len(images)} images but {len(labels)} labels; fetch the files again"
            )
    return to_float_images(arrays[0]), arrays[1], to_float_images(arrays[2]), arrays[3]


def load_fashion_mnist(options: DatasetOptions) -> ClassData:
    """Fashion-MNIST, 10 classes, 28×28×1 (real data; the embedded default)."""
    root = Path(options.data_root).expanduser() if options.data_root else None
    if options.download:
        from torchvision.datasets import FashionMNIST

        download_root = root or Path("~/.cache/distill-benchmark").expanduser()
        for train in (True, False):
            fetch = lambda t=train: FashionMNIST(str(download_root), train=t, download=True)  # noqa: E731
            download(fetch, "Fashion-MNIST", download_root)
        root = download_root
    candidates = idx_candidates(
        root, "FashionMNIST", [DEBIAN_FOLDER, Path("~/.cache/distill-benchmark/FashionMNIST/raw")]
    )
    folder = first_folder_with(candidates, FILES, "Fashion-MNIST", HOW_TO_GET)
    train_x, train_y, test_x, test_y = load_idx_dataset(folder)
    return build_classdata(
        "fashion_mnist", CLASS_NAMES, train_x, train_y, test_x, test_y, options, MEAN, STD, source=str(folder)
    )
