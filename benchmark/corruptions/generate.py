"""Generating "-C" test sets with the ``corrupt-tta`` package, deterministically, in parallel, cached.

corrupt-tta's functions take one H×W×3 uint8 image and draw their randomness from numpy's global
RNG (``np.random``), except ``impulse_noise``, which calls scikit-image's ``random_noise`` with an
unseeded generator. Each task — one chunk of images of one (corruption, severity) — therefore seeds
the global RNG with a seed derived from (seed, corruption, severity, chunk) and hands
``random_noise`` a generator seeded the same way; results do not depend on the number of workers.
Grayscale images are replicated to 3 channels, corrupted, and averaged back to one channel.
Outputs are truncated to uint8 as the official CIFAR-10-C script does (``np.uint8``).

Cache: one ``.npy`` per (data, subset, seed, corruption, severity, package version) under
``<output_dir>/cache/corruptions/`` with a JSON manifest beside it, written after the array.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import warnings
from collections.abc import Iterable
from concurrent.futures import ProcessPoolExecutor, as_completed
from importlib import metadata
from multiprocessing import get_context
from pathlib import Path
from typing import Any

import numpy as np

from benchmark.atomic import atomic_write_bytes, atomic_write_json
from benchmark.cache import cache_lock, cache_path, stable_hash
from benchmark.corruptions import ALL, SEVERITIES
from benchmark.errors import BenchmarkError, BenchmarkWarning
from benchmark.progress import progress

PACKAGE = "corrupt-tta"
CHUNK = 64  # images per task; fixed, so seeds (and results) do not depend on the worker count


class MissingCorruptTTAError(BenchmarkError, ImportError):
    """corrupt-tta is needed and cannot be imported."""


def _install_hint(error: Exception) -> MissingCorruptTTAError:
    return MissingCorruptTTAError(
        f"generating corrupted test sets needs the corrupt-tta package ({error}); install it with "
        "`pip install corrupt-tta` (or `pip install 'distill-benchmark[corruptions]'`)"
    )


def require_corrupt_tta():
    """The imported ``corrupt_tta`` module, or one clear error naming ``pip install corrupt-tta``."""
    try:
        import corrupt_tta
        import corrupt_tta.corruptions  # noqa: F401
    except Exception as error:  # ImportError, or a broken dependency (cv2, scikit-image)
        raise _install_hint(error) from error
    return corrupt_tta


def package_version() -> str:
    """corrupt-tta's installed version (part of every cache key and record)."""
    try:
        return metadata.version(PACKAGE)
    except metadata.PackageNotFoundError as error:
        raise _install_hint(error) from error


def check_names(corruptions: Iterable[str], severities: Iterable[int]) -> None:
    unknown = sorted(set(corruptions) - set(ALL))
    if unknown:
        raise ValueError(f"unknown corruptions {unknown}; available: {', '.join(ALL)}")
    bad = sorted(set(severities) - set(SEVERITIES))
    if bad:
        raise ValueError(f"severities must be among {list(SEVERITIES)}, got {bad}")


def corrupt_images(images: np.ndarray, corruption: str, severity: int, seed: int) -> np.ndarray:
    """Corrupt (n, H, W, C) uint8 images (C = 1 or 3); the same seed gives the same output."""
    corrupt_tta = require_corrupt_tta()
    module = corrupt_tta.corruptions
    if images.ndim != 4 or images.shape[-1] not in (1, 3) or images.dtype != np.uint8:
        raise ValueError(f"expected uint8 images (n, H, W, 1|3), got {images.dtype} {images.shape}")
    gray = images.shape[-1] == 1
    state = np.random.get_state()
    original_noise = module.random_noise
    rng = np.random.default_rng(seed)
    module.random_noise = lambda *args, **kwargs: original_noise(*args, **{"rng": rng, **kwargs})
    np.random.seed(seed)
    try:
        out = np.empty_like(images)
        for i, image in enumerate(images):
            rgb = np.repeat(image, 3, axis=2) if gray else image
            result = np.asarray(corrupt_tta.corrupt(rgb, severity=severity, corruption_name=corruption))
            result = np.uint8(np.clip(result, 0, 255))
            if gray:
                result = np.round(result.astype(np.float32).mean(axis=2, keepdims=True)).astype(np.uint8)
            out[i] = result
        return out
    finally:
        module.random_noise = original_noise
        np.random.set_state(state)


def _task(images: np.ndarray, corruption: str, severity: int, seed: int, chunk: int):
    try:  # one thread per worker process; the parallelism is over processes
        import cv2

        cv2.setNumThreads(1)
    except Exception:  # pragma: no cover - cv2 comes with corrupt-tta
        pass
    # benchmark.seeding.derive_seed's formula, without importing torch into every worker
    task_seed = int(stable_hash(["corruption", seed, corruption, severity, chunk], length=8), 16) & 0x7FFFFFFF
    return corruption, severity, chunk, corrupt_images(images, corruption, severity, task_seed)


def default_workers() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def generate(
    images: np.ndarray,
    pairs: list[tuple[str, int]],
    seed: int = 0,
    workers: int | None = None,
    show_progress: bool = True,
) -> dict[tuple[str, int], np.ndarray]:
    """Corrupted copies of ``images`` for each (corruption, severity), over ``workers`` processes."""
    check_names([c for c, _ in pairs], [s for _, s in pairs])
    require_corrupt_tta()
    workers = default_workers() if not workers else workers
    chunks = [images[i : i + CHUNK] for i in range(0, len(images), CHUNK)]
    tasks = [(chunk, c, s, seed, k) for c, s in pairs for k, chunk in enumerate(chunks)]
    parts: dict[tuple[str, int], list[np.ndarray | None]] = {p: [None] * len(chunks) for p in pairs}
    bar = progress(total=len(tasks), desc="corrupting test images", enabled=show_progress, leave=True)
    try:
        if workers <= 1 or len(tasks) <= 1:
            for task in tasks:
                c, s, k, out = _task(*task)
                parts[(c, s)][k] = out
                bar.update()
        else:
            with ProcessPoolExecutor(min(workers, len(tasks)), mp_context=get_context("spawn")) as pool:
                for future in as_completed([pool.submit(_task, *task) for task in tasks]):
                    c, s, k, out = future.result()
                    parts[(c, s)][k] = out
                    bar.update()
    finally:
        bar.close()
    return {p: np.concatenate(chunk_list) for p, chunk_list in parts.items()}


def array_digest(array: np.ndarray) -> str:
    """sha256 of an array's bytes (the cache checks it, so an edited file is made again)."""
    return hashlib.sha256(np.ascontiguousarray(array).tobytes()).hexdigest()


def cached_corruptions(
    images: np.ndarray,
    describe: dict[str, Any],
    corruptions: list[str],
    severities: list[int],
    cache_root: str | Path,
    seed: int = 0,
    workers: int | None = None,
    show_progress: bool = True,
) -> dict[tuple[str, int], np.ndarray]:
    """Corrupted ``images`` per (corruption, severity), from the disk cache or generated and saved.

    ``describe`` identifies the images (dataset, classes, split, subset): it is part of the key.
    """
    check_names(corruptions, severities)
    version = package_version()
    # one lock for the folder: a parallel cell needing the same sets waits, then loads them
    with cache_lock(Path(cache_root) / "cache" / "corruptions"):
        found: dict[tuple[str, int], np.ndarray] = {}
        missing: dict[tuple[str, int], tuple[Path, dict]] = {}
        for corruption in corruptions:
            for severity in severities:
                content = dict(describe) | {
                    "corruption": corruption,
                    "severity": severity,
                    "seed": seed,
                    "chunk": CHUNK,
                    "package": f"{PACKAGE}=={version}",
                }
                path = cache_path(cache_root, "corruptions", content, "npy")
                manifest = path.with_suffix(".json")
                if path.is_file() and manifest.is_file():
                    try:
                        stored = json.loads(manifest.read_text())
                        array = np.load(path, allow_pickle=False)
                    except (OSError, ValueError):
                        stored, array = None, None
                    intact = (
                        stored is not None and stored.get("content") == json.loads(json.dumps(content))
                        and array is not None and list(array.shape) == stored.get("shape")
                        and stored.get("sha256") == array_digest(array)
                    )  # fmt: skip
                    if intact:
                        found[(corruption, severity)] = array
                        continue
                    warnings.warn(f"damaged cache {path} is made again", BenchmarkWarning, stacklevel=2)
                missing[(corruption, severity)] = (path, content)
        if missing:
            made = generate(images, list(missing), seed, workers, show_progress)
            for pair, (path, content) in missing.items():
                buffer = io.BytesIO()
                np.save(buffer, made[pair], allow_pickle=False)
                atomic_write_bytes(path, buffer.getvalue())
                shape = list(made[pair].shape)
                manifest = {"content": content, "shape": shape, "sha256": array_digest(made[pair])}
                atomic_write_json(path.with_suffix(".json"), manifest)
                found[pair] = made[pair]
    return {(c, s): found[(c, s)] for c in corruptions for s in severities}
