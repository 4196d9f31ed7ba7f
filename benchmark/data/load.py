"""Loading a registered dataset: its loader's mean/std data, fingerprinted, then the preprocessing
asked (mean/std as loaded, or ZCA whitening fitted on the train split only, decision 4)."""

from __future__ import annotations

import hashlib
from dataclasses import replace
from pathlib import Path

from benchmark.cache import cache_path
from benchmark.data.classdata import ClassData, DatasetOptions, Split
from benchmark.data.normalize import denormalize
from benchmark.data.zca import EPS, MAX_FEATURES, cached_zca, whiten
from benchmark.errors import UserInputError

PREPROCESSINGS = ("meanstd", "zca")
DEFAULT_CACHE_ROOT = Path("results")


def load_dataset(name: str, options: DatasetOptions | None = None) -> ClassData:
    """Load a registered dataset by name, preprocessed as ``options.preprocessing`` asks."""
    from benchmark.registries import DATASETS

    options = options or DatasetOptions()
    data = DATASETS.get(name)(options)  # every loader returns mean/std data
    data.fingerprint = data.content_fingerprint()
    return preprocess(data, options)


def preprocess(data: ClassData, options: DatasetOptions) -> ClassData:
    """Apply ``options.preprocessing`` to a loader's mean/std-normalised data."""
    if options.preprocessing not in PREPROCESSINGS:
        raise UserInputError(
            f"unknown preprocessing {options.preprocessing!r}; choose one of {', '.join(PREPROCESSINGS)}"
        )
    if options.preprocessing == "zca":
        return apply_zca(data, options.cache_dir)
    return data


def apply_zca(data: ClassData, cache_dir: str | Path | None = None) -> ClassData:
    """The same data ZCA-whitened: ToTensor images (no mean/std), whitening fitted on train only.

    The fitted transform is read from / written to the cache under ``cache_dir`` (default
    ``./results``), keyed by the dataset, split, preprocessing and a fingerprint of the train images
    (decision 13); the returned ClassData has ``preprocessing="zca"``, mean 0 / std 1 and the fitted
    kornia module in ``whitening`` (see :func:`benchmark.data.zca.unwhiten`).
    """
    if data.preprocessing == "zca":
        return data
    if data.preprocessing != "meanstd":
        raise UserInputError(f"ZCA needs mean/std-normalised data, got preprocessing {data.preprocessing!r}")
    features = data.channels * data.image_shape[1] * data.image_shape[2]
    if features > MAX_FEATURES:
        raise UserInputError(
            f"ZCA on {data.name} ({features} features per image) needs a {features}² covariance matrix, "
            f"too large; use preprocessing 'meanstd' (ZCA is for up to {MAX_FEATURES} features)"
        )
    raw = {
        name: denormalize(getattr(data, name).images, data.mean, data.std)
        for name in ("train", "val", "test")
    }
    key = {
        "dataset": data.name,
        "split": "train",
        "preprocessing": "zca",
        "eps": EPS,
        "classes": list(data.classes),
        "image_shape": list(data.image_shape),
        "train": _fingerprint(Split(raw["train"], data.train.labels)),
    }
    path = cache_path(cache_dir if cache_dir is not None else DEFAULT_CACHE_ROOT, "zca", key, "safetensors")
    zca = cached_zca(path, raw["train"])
    splits = {name: Split(whiten(images, zca), getattr(data, name).labels) for name, images in raw.items()}
    channels = data.channels
    return replace(
        data,
        **splits,
        mean=(0.0,) * channels,
        std=(1.0,) * channels,
        preprocessing="zca",
        whitening=zca,
        whitening_key=path.stem,
    )


def _fingerprint(split: Split) -> str:
    digest = hashlib.sha256()
    digest.update(split.images.detach().cpu().contiguous().numpy().tobytes())
    digest.update(split.labels.detach().cpu().contiguous().numpy().tobytes())
    return digest.hexdigest()[:32]
