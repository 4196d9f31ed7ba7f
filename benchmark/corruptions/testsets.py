"""Corrupted versions of a dataset's (subset of the) test split, as normalised ``Split`` s.

Official CIFAR-10-C / CIFAR-100-C files are used where present; otherwise the test images are
un-normalised (the dataset's mean/std) to uint8, corrupted with corrupt-tta, and re-normalised.
The subset is the one :func:`benchmark.training.evaluate.per_class_subset` takes (same seed), so the
clean accuracy of a record and its corrupted accuracies are measured on the same images.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from benchmark.corruptions.generate import cached_corruptions, check_names, package_version
from benchmark.corruptions.official import load_official, official_folder
from benchmark.data.classdata import ClassData, Split
from benchmark.data.normalize import denormalize, normalize
from benchmark.errors import CorruptFileError, UserInputError
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


def to_uint8(images: torch.Tensor, mean, std) -> np.ndarray:
    """Normalised (n, C, H, W) images → (n, H, W, C) uint8."""
    raw = denormalize(images.detach().cpu().float(), mean, std).clamp(0, 1)
    return (raw * 255).round().to(torch.uint8).permute(0, 2, 3, 1).contiguous().numpy()


def from_uint8(images: np.ndarray, mean, std) -> torch.Tensor:
    """(n, H, W, C) uint8 → normalised (n, C, H, W) float32."""
    tensor = torch.from_numpy(np.ascontiguousarray(images)).permute(0, 3, 1, 2).float() / 255
    return normalize(tensor, mean, std)


def source_of(dataset: str, data_root: str | Path | None) -> str:
    """``official`` when the released "-C" files exist for ``dataset``, else ``corrupt-tta==<version>``."""
    if official_folder(dataset, data_root) is not None:
        return "official"
    return f"corrupt-tta=={package_version()}"


@dataclass
class CorruptedTestSets:
    source: str
    clean: Split
    splits: dict[tuple[str, int], Split] = field(default_factory=dict)


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
    if data.whitening is not None or data.preprocessing != "meanstd":
        raise UserInputError(
            f"corrupted test sets need mean/std preprocessing, got {data.preprocessing!r}; "
            "evaluate the corruption suite on meanstd data"
        )
    keep = subset_indices(data.test.labels, per_class)
    clean = Split(data.test.images[keep], data.test.labels[keep])
    folder = official_folder(data.name, data_root)
    if folder is not None:
        sets = CorruptedTestSets("official", clean)
        for corruption in corruptions:
            for severity in severities:
                images, labels = load_official(folder, corruption, severity)
                if len(labels) != len(data.test) or not np.array_equal(labels, data.test.labels.numpy()):
                    raise CorruptFileError(
                        f"{folder}: labels of {corruption} severity {severity} do not match "
                        f"{data.name}'s test split (expected {len(data.test)} in test-set order)"
                    )
                sets.splits[(corruption, severity)] = Split(
                    from_uint8(images[keep.numpy()], data.mean, data.std), clean.labels
                )
        return sets
    describe = data.describe() | {"split": "test", "split_seed": split_seed, "subset": per_class}
    arrays = cached_corruptions(
        to_uint8(clean.images, data.mean, data.std),
        describe,
        corruptions,
        severities,
        cache_root,
        seed,
        workers,
        show_progress,
    )
    sets = CorruptedTestSets(f"corrupt-tta=={package_version()}", clean)
    for pair, array in arrays.items():
        sets.splits[pair] = Split(from_uint8(array, data.mean, data.std), clean.labels)
    return sets
