"""MNIST from its idx files (torchvision's ``root/MNIST/raw`` layout, or a folder of the four files)."""

from __future__ import annotations

from pathlib import Path

from benchmark.data.build import build_classdata
from benchmark.data.classdata import ClassData, DatasetOptions
from benchmark.data.fashion_mnist import FILES, idx_candidates, load_idx_dataset
from benchmark.data.locate import download, first_folder_with

CLASS_NAMES = [str(d) for d in range(10)]
MEAN, STD = (0.1307,), (0.3081,)
CACHE_FOLDER = Path("~/.cache/distill-benchmark/MNIST/raw")
HOW_TO_GET = (
    "Get the four idx files (train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte, "
    "t10k-labels-idx1-ubyte, gzipped or not) from Yann LeCun's MNIST page or a mirror, pass --download "
    "to fetch them with torchvision, or point --data-root at a folder holding them."
)


def load_mnist(options: DatasetOptions) -> ClassData:
    """MNIST, 10 classes, 28×28×1."""
    root = Path(options.data_root).expanduser() if options.data_root else None
    if options.download:
        from torchvision.datasets import MNIST

        root = root or Path("~/.cache/distill-benchmark").expanduser()
        for train in (True, False):
            download(lambda t=train: MNIST(str(root), train=t, download=True), "MNIST", root)
    folder = first_folder_with(idx_candidates(root, "MNIST", [CACHE_FOLDER]), FILES, "MNIST", HOW_TO_GET)
    train_x, train_y, test_x, test_y = load_idx_dataset(folder)
    return build_classdata(
        "mnist", CLASS_NAMES, train_x, train_y, test_x, test_y, options, MEAN, STD, source=str(folder)
    )
