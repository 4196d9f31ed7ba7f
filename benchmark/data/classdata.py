"""ClassData: a dataset as normalised tensors with per-class access (loading: :mod:`benchmark.data.load`)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field, replace
from pathlib import Path

import torch

from benchmark.data.normalize import denormalize, normalize
from benchmark.data.zca import unwhiten, whiten
from benchmark.errors import UserInputError


@dataclass
class Split:
    """Images (n, C, H, W) float32, already normalised, and int64 labels (global class ids)."""

    images: torch.Tensor
    labels: torch.Tensor

    def __len__(self) -> int:
        return len(self.labels)

    def of_class(self, c: int) -> torch.Tensor:
        return self.images[self.class_indices(c)]

    def class_indices(self, c: int) -> torch.Tensor:
        """Indices of class ``c`` (computed once per class)."""
        cache = self.__dict__.setdefault("_class_indices", {})
        if c not in cache:
            cache[c] = torch.nonzero(self.labels == c).flatten()
        return cache[c]

    def sample_class(self, c: int, n: int, generator: torch.Generator) -> torch.Tensor:
        """``n`` images of class ``c`` drawn without replacement (all of them if fewer)."""
        indices = self.class_indices(c)
        chosen = indices[torch.randperm(len(indices), generator=generator)[:n]]
        return self.images[chosen.to(self.images.device)]

    def restricted_to(self, classes: list[int]) -> Split:
        keep = torch.isin(self.labels, torch.as_tensor(classes, dtype=self.labels.dtype))
        return Split(self.images[keep], self.labels[keep])

    def fingerprint(self) -> str:
        """sha256 of the images and labels."""
        digest = hashlib.sha256()
        for tensor in (self.images, self.labels):
            array = tensor.detach().cpu().contiguous().numpy()
            digest.update(f"{array.dtype}|{array.shape}|".encode())
            digest.update(memoryview(array).cast("B"))
        return digest.hexdigest()

    def to(self, device: torch.device | str) -> Split:
        return Split(self.images.to(device), self.labels.to(device))


@dataclass
class ClassData:
    """A dataset: splits, class names, image shape and the preprocessing that produced the tensors.

    ``classes`` lists the global class ids present (all of them unless restricted, e.g. to one
    continual step); labels always keep their global ids so networks can keep every output.
    """

    name: str
    class_names: list[str]
    image_shape: tuple[int, int, int]
    mean: tuple[float, ...]
    std: tuple[float, ...]
    train: Split
    val: Split
    test: Split
    preprocessing: str = "meanstd"
    classes: list[int] = field(default_factory=list)
    # The fitted kornia ZCAWhitening applied to [0, 1] images (preprocessing "zca"), and the key of
    # its cache file (recorded in buffer manifests so pictures can be unwhitened); None otherwise.
    whitening: object | None = None
    whitening_key: str | None = None
    # DSA families suited to the data (no flips for digits, docs/protocol.md §0).
    augmentation: str = "color_crop_cutout_flip_scale_rotate"
    # Where the files were read, and a fingerprint of what was loaded (load_dataset fills it): two
    # copies of a dataset that differ get different buffer keys, so results are never mixed.
    source: str = ""
    fingerprint: str = ""

    def __post_init__(self) -> None:
        if not self.classes:
            self.classes = list(range(len(self.class_names)))

    @property
    def num_classes(self) -> int:
        """Size of the network's output layer: every class of the dataset, seen or not."""
        return len(self.class_names)

    @property
    def channels(self) -> int:
        return self.image_shape[0]

    @property
    def image_size(self) -> int:
        return self.image_shape[1]

    def to_pixels(self, images: torch.Tensor) -> torch.Tensor:
        """Images as the networks see them → [0, 1] pixels (ZCA or mean/std undone), for people."""
        if self.whitening is not None:
            return unwhiten(images, self.whitening)
        return denormalize(images, self.mean, self.std)

    def from_pixels(self, pixels: torch.Tensor) -> torch.Tensor:
        """[0, 1] pixels → images as the networks see them (this dataset's preprocessing)."""
        if self.whitening is not None:
            return whiten(pixels, self.whitening)
        return normalize(pixels, self.mean, self.std)

    def restricted_to(self, classes: list[int]) -> ClassData:
        """The same dataset holding only ``classes`` (all three splits)."""
        unknown = sorted(set(classes) - set(self.classes))
        if unknown:
            raise UserInputError(f"classes {unknown} are not in dataset {self.name!r}")
        return replace(
            self,
            train=self.train.restricted_to(classes),
            val=self.val.restricted_to(classes),
            test=self.test.restricted_to(classes),
            classes=list(classes),
        )

    def training_identity(self) -> dict:
        """What identifies the training split in cache keys of artefacts trained on it (decision 13):
        a different split seed, fraction or class subset changes it."""
        return self.describe() | {
            "split": "train",
            "split_sha256": self.train.fingerprint(),
            "num_classes": self.num_classes,
        }

    def describe(self) -> dict:
        """What identifies this data in manifests and cache keys."""
        return {
            "dataset": self.name,
            "preprocessing": self.preprocessing,
            "classes": list(self.classes),
            "image_shape": list(self.image_shape),
            "fingerprint": self.fingerprint,
        }

    def content_fingerprint(self) -> str:
        """A cheap digest of the loaded content: each split's size and labels, and a fixed sample of
        64 of its images (bit for bit)."""
        digest = hashlib.sha256()
        for split in (self.train, self.val, self.test):
            step = max(1, len(split) // 64)
            for tensor in (split.labels, split.images[::step][:64]):
                array = tensor.detach().cpu().contiguous().numpy()
                digest.update(f"{array.dtype}|{array.shape}|".encode())
                digest.update(array.tobytes())
        return digest.hexdigest()[:16]


@dataclass(frozen=True)
class DatasetOptions:
    """How to find and split a dataset."""

    data_root: Path | None = None
    download: bool = False
    val_fraction: float = 0.1
    split_seed: int = 0
    preprocessing: str = "meanstd"  # or "zca" where the dataset supports it
    cache_dir: Path | None = None  # for ZCA and other fitted transforms
