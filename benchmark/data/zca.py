"""ZCA whitening (kornia ``ZCAWhitening``, eps 0.1) as MTT/HaBa/SPEED apply it: on ToTensor images.

Fitted on the train split only (decision 4), cached on disk keyed by the dataset, split,
preprocessing and a fingerprint of the train images (decision 13), and kept on the ClassData so
whitened images can be turned back into pictures.
"""

from __future__ import annotations

import hashlib
import warnings
from dataclasses import replace
from pathlib import Path

import torch

from benchmark.atomic import atomic_write_bytes
from benchmark.cache import cache_path
from benchmark.data.classdata import ClassData, DatasetOptions, Split
from benchmark.data.normalize import denormalize
from benchmark.errors import BenchmarkWarning, UserInputError

EPS = 0.1
PREPROCESSINGS = ("meanstd", "zca")
DEFAULT_CACHE_ROOT = Path("results")
# Above this many features per image the covariance matrix (features²) is too large to fit.
MAX_FEATURES = 64 * 64 * 3
_BUFFERS = ("mean_vector", "transform_matrix", "transform_inv")


def _new_zca():
    from kornia.enhance import ZCAWhitening

    return ZCAWhitening(eps=EPS, compute_inv=True)


def fit_zca(images: torch.Tensor):
    """A kornia ZCAWhitening fitted on ``images`` (n, C, H, W) in [0, 1]."""
    return _new_zca().fit(images)


def _fingerprint(split: Split) -> str:
    digest = hashlib.sha256()
    digest.update(split.images.detach().cpu().contiguous().numpy().tobytes())
    digest.update(split.labels.detach().cpu().contiguous().numpy().tobytes())
    return digest.hexdigest()[:32]


def _load_cached(path: Path):
    from safetensors.torch import load_file

    try:
        tensors = load_file(str(path))
        zca = _new_zca()
        zca.load_state_dict({k: tensors[k] for k in _BUFFERS})
    except Exception:  # a damaged cache entry is refitted and overwritten, never trusted
        warnings.warn(f"damaged cache {path} is fitted again", BenchmarkWarning, stacklevel=2)
        return None
    return zca


def _save(path: Path, zca) -> None:
    from safetensors.torch import save

    tensors = {k: getattr(zca, k).detach().cpu().contiguous() for k in _BUFFERS}
    atomic_write_bytes(path, save(tensors, metadata={"eps": str(EPS)}))


def apply_zca(data: ClassData, cache_dir: str | Path | None = None) -> ClassData:
    """The same data ZCA-whitened: ToTensor images (no mean/std), whitening fitted on train only.

    The fitted transform is read from / written to the cache under ``cache_dir`` (default
    ``./results``); the returned ClassData has ``preprocessing="zca"``, mean 0 / std 1 and the
    fitted kornia module in ``whitening`` (see :func:`unwhiten`).
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
    zca = _load_cached(path) if path.is_file() else None
    if zca is None:
        zca = fit_zca(raw["train"])
        _save(path, zca)
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


def load_whitening(cache_root: str | Path, key: str):
    """The fitted transform cached under ``key`` (a buffer manifest's ``whitening``), or a one-line
    error when the cache file is not there."""
    path = Path(cache_root) / "cache" / "zca" / f"{key}.safetensors"
    zca = _load_cached(path) if path.is_file() else None
    if zca is None:
        raise UserInputError(
            f"the ZCA transform {key} is not in {path.parent}; pass the --output-dir the buffer was "
            "made in (its cache holds the transform)"
        )
    return zca


def whiten(images: torch.Tensor, zca) -> torch.Tensor:
    """ZCA-whiten ToTensor images (n, C, H, W) with a fitted transform."""
    if len(images) == 0:
        return images.clone()
    return zca(images.float()).reshape(images.shape)


def unwhiten(images: torch.Tensor, zca) -> torch.Tensor:
    """Whitened images back to ToTensor images in [0, 1] (up to float error), e.g. for display."""
    if len(images) == 0:
        return images.clone()
    return zca.to(images.device).inverse_transform(images).reshape(images.shape)


def preprocess(data: ClassData, options: DatasetOptions) -> ClassData:
    """Apply ``options.preprocessing`` to a loader's mean/std-normalised data."""
    if options.preprocessing not in PREPROCESSINGS:
        raise UserInputError(
            f"unknown preprocessing {options.preprocessing!r}; choose one of {', '.join(PREPROCESSINGS)}"
        )
    if options.preprocessing == "zca":
        return apply_zca(data, options.cache_dir)
    return data
