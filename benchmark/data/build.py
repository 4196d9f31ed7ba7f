"""Turn raw arrays of a dataset into ClassData: [0, 1] floats, normalisation, val hold-out."""

from __future__ import annotations

import numpy as np
import torch

from benchmark.data.classdata import ClassData, DatasetOptions, Split
from benchmark.data.normalize import channel_stats, normalize
from benchmark.data.splits import class_balanced_holdout


def to_float_images(array: np.ndarray | torch.Tensor) -> torch.Tensor:
    """uint8 (n, H, W), (n, H, W, C) or (n, C, H, W) → float32 (n, C, H, W) in [0, 1]."""
    images = torch.from_numpy(np.array(array)) if not torch.is_tensor(array) else array
    if images.ndim == 3:
        images = images.unsqueeze(1)
    elif images.ndim == 4 and images.shape[-1] in (1, 3) and images.shape[1] not in (1, 3):
        images = images.permute(0, 3, 1, 2)
    images = images.contiguous()
    if images.dtype == torch.uint8:
        return images.float().div_(255.0)
    return images.float()


def build_classdata(
    name: str,
    class_names: list[str],
    train_images: torch.Tensor,
    train_labels: torch.Tensor,
    test_images: torch.Tensor,
    test_labels: torch.Tensor,
    options: DatasetOptions,
    mean: tuple[float, ...] | None = None,
    std: tuple[float, ...] | None = None,
    source: str = "",
) -> ClassData:
    """Split val off train (decision 4) and normalise all splits with train statistics.

    ``mean``/``std`` are the dataset's published constants where the references use them;
    otherwise they are fitted on the train split (after the val hold-out). ``source`` says where the
    files were read (shown to the user and written into buffer manifests).
    """
    train_labels, test_labels = _labels(train_labels), _labels(test_labels)
    for split, labels in (("train", train_labels), ("test", test_labels)):
        outside = sorted({int(v) for v in labels[(labels < 0) | (labels >= len(class_names))].tolist()})
        if outside:
            from benchmark.errors import CorruptFileError

            raise CorruptFileError(
                f"{name}'s {split} labels hold {', '.join(map(str, outside[:5]))}, outside its classes "
                f"0…{len(class_names) - 1}; the files are damaged or of another dataset, fetch them again"
            )
    kept, held = class_balanced_holdout(train_labels, options.val_fraction, options.split_seed)
    train_x, val_x = train_images[kept], train_images[held]
    if mean is None or std is None:
        mean, std = channel_stats(train_x)
    return ClassData(
        name=name,
        class_names=list(class_names),
        image_shape=tuple(train_images.shape[1:]),
        mean=tuple(mean),
        std=tuple(std),
        train=Split(normalize(train_x, mean, std), train_labels[kept]),
        val=Split(normalize(val_x, mean, std), train_labels[held]),
        test=Split(normalize(test_images, mean, std), test_labels),
        preprocessing="meanstd",
        source=source,
    )


def read_rgb_images(paths: list, size: tuple[int, int] | None = None, resize=None) -> np.ndarray:
    """Decode image files to uint8 (n, H, W, 3); CorruptFileError names a file that cannot be read.

    ``resize`` (PIL image → PIL image) is applied first; then every image must be ``size`` (W, H).
    """
    from concurrent.futures import ThreadPoolExecutor

    from PIL import Image

    from benchmark.errors import CorruptFileError

    def read(path) -> np.ndarray:
        try:
            with Image.open(path) as image:
                image = image.convert("RGB")
                if resize is not None:
                    image = resize(image)
                array = np.asarray(image, dtype=np.uint8)
        except (OSError, ValueError, SyntaxError) as error:  # PIL's ways of saying "damaged"
            raise CorruptFileError(f"{path} is not a readable image ({error}); fetch it again") from error
        if size is not None and (array.shape[1], array.shape[0]) != tuple(size):
            raise CorruptFileError(
                f"{path} is {array.shape[1]}×{array.shape[0]} px, expected {size[0]}×{size[1]}"
            )
        return array

    if not paths:
        return np.zeros((0, size[1], size[0], 3) if size else (0, 0, 0, 3), dtype=np.uint8)
    with ThreadPoolExecutor(max_workers=min(8, len(paths))) as pool:
        return np.stack(list(pool.map(read, paths)))


def _labels(labels: np.ndarray | torch.Tensor) -> torch.Tensor:
    if torch.is_tensor(labels):
        return labels.long()
    return torch.from_numpy(np.array(labels)).long()
