"""scikit-learn's bundled 8×8 digits: 1,797 real images, a tiny dataset for fast tests."""

from __future__ import annotations

import torch

from benchmark.augment.dsa import NO_FLIP_FAMILIES
from benchmark.data.build import build_classdata
from benchmark.data.classdata import ClassData, DatasetOptions
from benchmark.data.splits import class_balanced_holdout

TEST_FRACTION = 0.2
TEST_SPLIT_SEED = 12345  # fixed: the test split never changes with the user's split seed


def load_digits(options: DatasetOptions) -> ClassData:
    """scikit-learn digits, 10 classes, 8×8×1; a fixed seeded 20 % test split (decision 4)."""
    from sklearn.datasets import load_digits as sklearn_digits

    bunch = sklearn_digits()
    images = torch.as_tensor(bunch.images, dtype=torch.float32).unsqueeze(1) / 16.0
    labels = torch.as_tensor(bunch.target).long()
    train_idx, test_idx = class_balanced_holdout(labels, TEST_FRACTION, TEST_SPLIT_SEED)
    data = build_classdata(
        "digits",
        [str(d) for d in range(10)],
        images[train_idx],
        labels[train_idx],
        images[test_idx],
        labels[test_idx],
        options,
        source="scikit-learn's bundled digits",
    )
    data.augmentation = NO_FLIP_FAMILIES
    return data
