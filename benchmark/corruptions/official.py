"""The released CIFAR-10-C / CIFAR-100-C files (Hendrycks & Dietterich, 2019).

Layout: ``<root>/CIFAR-10-C/<corruption>.npy`` stacks the 5 severities of the 10 000 test images
(uint8, 50 000 × 32 × 32 × 3; severity s is rows (s − 1)·10 000 … s·10 000, in test-set order) and
``labels.npy`` holds the matching labels (50 000, or 10 000 for one severity).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from benchmark.corruptions import SEVERITIES
from benchmark.errors import CorruptFileError, DatasetNotFoundError

OFFICIAL_FOLDERS = {"cifar10": "CIFAR-10-C", "cifar100": "CIFAR-100-C"}
DEFAULT_ROOT = Path("~/.cache/distill-benchmark")


def official_folder(dataset: str, data_root: str | Path | None) -> Path | None:
    """The folder of ``dataset``'s official "-C" files (holding ``labels.npy``), or None."""
    name = OFFICIAL_FOLDERS.get(dataset)
    if name is None:
        return None
    for root in (data_root, DEFAULT_ROOT):
        if root is None:
            continue
        folder = Path(root).expanduser() / name
        if (folder / "labels.npy").is_file():
            return folder
    return None


def load_official(
    folder: str | Path, corruption: str, severity: int, indices: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Images (n, H, W, 3) uint8 and int64 labels of ``corruption`` at ``severity`` (1–5).

    ``indices`` picks test images by their position in the clean test set (e.g. a seeded subset).
    """
    folder = Path(folder)
    if severity not in SEVERITIES:
        raise ValueError(f"severity must be one of {list(SEVERITIES)}, got {severity!r}")
    path = folder / f"{corruption}.npy"
    if not path.is_file():
        raise DatasetNotFoundError(f"{path} not found; the official files name each corruption <name>.npy")
    images = np.load(path, mmap_mode="r")
    if images.ndim != 4 or images.shape[-1] != 3 or images.dtype != np.uint8 or len(images) % 5:
        raise CorruptFileError(
            f"{path}: expected uint8 images (5·n, H, W, 3), got {images.dtype} {tuple(images.shape)}"
        )
    n = len(images) // 5
    labels = np.load(folder / "labels.npy")
    if len(labels) == len(images):
        labels = labels[(severity - 1) * n : severity * n]
    elif len(labels) != n:
        raise CorruptFileError(f"{folder / 'labels.npy'}: {len(labels)} labels for {len(images)} images")
    block = images[(severity - 1) * n : severity * n]
    if indices is not None:
        block, labels = block[indices], labels[indices]
    return np.ascontiguousarray(block), np.asarray(labels, dtype=np.int64)
