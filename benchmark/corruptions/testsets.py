"""Corrupted versions of a dataset's (subset of the) test split, as normalised ``Split`` s.

Official CIFAR-10-C / CIFAR-100-C files are used where present; otherwise the test images are
turned back into uint8 pixels (the dataset's preprocessing undone: mean/std or ZCA), corrupted with
corrupt-tta, and preprocessed again, as the clean images were.
The subset is the one :func:`benchmark.training.evaluate.per_class_subset` takes (same seed), so the
clean accuracy of a record and its corrupted accuracies are measured on the same images.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from benchmark.corruptions.generate import cached_corruptions, check_names, package_version
from benchmark.corruptions.official import load_official, official_folder
from benchmark.data.classdata import ClassData, Split
from benchmark.errors import CorruptFileError
from benchmark.seeding import generator as make_generator


def subset_indices(labels: torch.Tensor, per_class: int, seed: int = 0) -> torch.Tensor:
    """Positions of the seeded ``per_class`` subset that ``per_class_subset`` selects (all if 0)."""
    if per_class <= 0:
        return torch.arange(len(labels))
    rng = make_generator(seed)
    chosen = []
    for c in torch.unique(labels).tolist():
        indices = torch.nonzero(labels == c).flatten()
        chosen.append(indices[torch.randperm(len(indices), generator=rng)[:per_class]])
    return torch.sort(torch.cat(chosen)).values


def to_uint8(pixels: torch.Tensor) -> np.ndarray:
    """(n, C, H, W) pixels in [0, 1] → (n, H, W, C) uint8."""
    raw = pixels.detach().cpu().float().clamp(0, 1)
    return (raw * 255).round().to(torch.uint8).permute(0, 2, 3, 1).contiguous().numpy()


def from_uint8(images: np.ndarray) -> torch.Tensor:
    """(n, H, W, C) uint8 → (n, C, H, W) float32 pixels in [0, 1]."""
    return torch.from_numpy(np.ascontiguousarray(images)).permute(0, 3, 1, 2).float() / 255


def source_of(dataset: str, data_root: str | Path | None) -> str:
    """``official`` when the released "-C" files exist for ``dataset``, else ``corrupt-tta==<version>``."""
    if official_folder(dataset, data_root) is not None:
        return "official"
    return f"corrupt-tta=={package_version()}"


@dataclass
class CorruptedTestSets:
    """The clean test subset and its corrupted versions, held as uint8 (official files are read
    per (corruption, severity) when used, so the whole CIFAR-10-C never sits in memory at once)."""

    source: str
    clean: Split
    to_model: Callable[[torch.Tensor], torch.Tensor]  # [0, 1] pixels → the dataset's preprocessing
    pairs: list[tuple[str, int]]
    arrays: dict[tuple[str, int], np.ndarray] = field(default_factory=dict)
    folder: Path | None = None  # official files
    keep: np.ndarray | None = None  # positions of the subset in the test split

    def images(self, pair: tuple[str, int]) -> np.ndarray:
        """(n, H, W, C) uint8 images of one (corruption, severity)."""
        if pair in self.arrays:
            return self.arrays[pair]
        images, _ = load_official(self.folder, pair[0], pair[1], self.keep)
        return images

    def split(self, pair: tuple[str, int]) -> Split:
        """One corrupted set as a preprocessed Split."""
        return Split(self.to_model(from_uint8(self.images(pair))), self.clean.labels)

    @torch.no_grad()
    def accuracy(
        self, net: torch.nn.Module, pair: tuple[str, int], device="cpu", batch_size: int = 500
    ) -> float:
        """Fraction of one corrupted set ``net`` classifies correctly (eval mode, normalised per batch)."""
        images, labels = self.images(pair), self.clean.labels
        net = net.to(device).eval()
        correct = 0
        for start in range(0, len(labels), batch_size):
            x = self.to_model(from_uint8(images[start : start + batch_size])).to(device)
            y = labels[start : start + batch_size].to(device)
            correct += int((net(x).argmax(1) == y).sum())
        net.train()
        return correct / max(len(labels), 1)


def corrupted_test_sets(
    data: ClassData,
    corruptions: list[str],
    severities: list[int],
    per_class: int,
    cache_root: str | Path,
    data_root: str | Path | None = None,
    split_seed: int = 0,
    seed: int = 0,
    workers: int | None = None,
    show_progress: bool = True,
) -> CorruptedTestSets:
    """The clean test subset and its corrupted versions, keyed by (corruption, severity)."""
    check_names(corruptions, severities)
    keep = subset_indices(data.test.labels, per_class)
    clean = Split(data.test.images[keep], data.test.labels[keep])
    pairs = [(c, s) for c in corruptions for s in severities]
    folder = official_folder(data.name, data_root)
    if folder is not None:
        expected = data.test.labels.numpy()
        for corruption in corruptions:  # every file present, its labels in test-set order
            _, labels = load_official(folder, corruption, severities[0])
            if not np.array_equal(labels, expected):
                raise CorruptFileError(
                    f"{folder}: labels for {corruption} do not match {data.name}'s test split "
                    f"(expected {len(expected)} labels in test-set order)"
                )
        return CorruptedTestSets("official", clean, data.from_pixels, pairs, folder=folder, keep=keep.numpy())
    describe = data.describe() | {"split": "test", "split_seed": split_seed, "subset": per_class}
    arrays = cached_corruptions(
        to_uint8(data.to_pixels(clean.images)),
        describe,
        corruptions,
        severities,
        cache_root,
        seed,
        workers,
        show_progress,
    )
    return CorruptedTestSets(f"corrupt-tta=={package_version()}", clean, data.from_pixels, pairs, arrays)
