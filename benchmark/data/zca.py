"""ZCA whitening (kornia ``ZCAWhitening``, eps 0.1) as MTT/HaBa/SPEED apply it: on ToTensor images.

The transform on tensors: fitted, cached on disk, applied and undone. A dataset is whitened by
:func:`benchmark.data.load.apply_zca` (fitted on its train split only, decision 4), which keeps the
transform on the ClassData so whitened images can be turned back into pictures.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import torch

from benchmark.atomic import atomic_write_bytes
from benchmark.errors import BenchmarkWarning, UserInputError

EPS = 0.1
# Above this many features per image the covariance matrix (features²) is too large to fit.
MAX_FEATURES = 64 * 64 * 3
_BUFFERS = ("mean_vector", "transform_matrix", "transform_inv")


def _new_zca():
    from kornia.enhance import ZCAWhitening

    return ZCAWhitening(eps=EPS, compute_inv=True)


def fit_zca(images: torch.Tensor):
    """A kornia ZCAWhitening fitted on ``images`` (n, C, H, W) in [0, 1]."""
    return _new_zca().fit(images)


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


def cached_zca(path: Path, images: torch.Tensor):
    """The transform cached at ``path``; where there is none (or a damaged one), fitted on ``images``
    and written there."""
    zca = _load_cached(path) if path.is_file() else None
    if zca is None:
        zca = fit_zca(images)
        _save(path, zca)
    return zca


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
