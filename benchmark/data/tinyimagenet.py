"""TinyImageNet (``tiny-imagenet-200``): 200 classes, 64×64×3; the distribution's val is the test split.

Classes are the wnids in sorted order (the order of the class folders the references read through
ImageFolder). ``val/`` may be the distributed flat ``val/images`` + ``val_annotations.txt`` or a
copy re-sorted into ``val/<wnid>/`` (with or without an ``images/`` level).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from benchmark.data.build import build_classdata, read_rgb_images, to_float_images
from benchmark.data.classdata import ClassData, DatasetOptions
from benchmark.data.locate import image_files
from benchmark.errors import CorruptFileError, DatasetNotFoundError

MEAN, STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)
SIZE = 64
FOLDER = "tiny-imagenet-200"
CACHE_ROOT = Path("~/.cache/distill-benchmark")
HOW_TO_GET = (
    "Download tiny-imagenet-200.zip from the Stanford CS231n Tiny ImageNet page "
    "(http://cs231n.stanford.edu/tiny-imagenet-200.zip), unzip it and point --data-root at the folder "
    "holding tiny-imagenet-200/."
)


def _find_root(options: DatasetOptions) -> Path:
    root = Path(options.data_root).expanduser() if options.data_root else None
    # a given root only (a root without the files is an error, never a silent fall-back)
    candidates = [root / FOLDER, root] if root is not None else [CACHE_ROOT.expanduser() / FOLDER]
    for folder in candidates:
        if (folder / "wnids.txt").is_file() and (folder / "train").is_dir() and (folder / "val").is_dir():
            return folder
    tried = ", ".join(str(c) for c in candidates)
    raise DatasetNotFoundError(
        f"TinyImageNet not found (a folder with wnids.txt, train/ and val/); looked in: {tried}. {HOW_TO_GET}"
    )


def _read_lines(path: Path) -> list[str]:
    try:
        return [line.strip() for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    except (OSError, UnicodeDecodeError) as error:
        raise CorruptFileError(f"{path} cannot be read ({error}); fetch the dataset again") from error


def _class_names(folder: Path, wnids: list[str]) -> list[str]:
    """Readable names from words.txt (first synonym), the wnid where it is missing."""
    words: dict[str, str] = {}
    if (folder / "words.txt").is_file():
        for line in _read_lines(folder / "words.txt"):
            wnid, _, text = line.partition("\t")
            words[wnid] = text.split(",")[0].strip()
    return [words.get(w) or w for w in wnids]


def _train_files(folder: Path, wnids: list[str]) -> tuple[list[Path], list[int]]:
    paths, labels = [], []
    for label, wnid in enumerate(wnids):
        class_dir = folder / "train" / wnid
        files = image_files(class_dir / "images") or image_files(class_dir)
        if not files:
            raise DatasetNotFoundError(
                f"TinyImageNet class {wnid} has no images in {class_dir / 'images'} or {class_dir}. "
                + HOW_TO_GET
            )
        paths += files
        labels += [label] * len(files)
    return paths, labels


def _val_files(folder: Path, wnids: list[str]) -> tuple[list[Path], list[int]]:
    val = folder / "val"
    index = {w: i for i, w in enumerate(wnids)}
    annotations = val / "val_annotations.txt"
    if (val / "images").is_dir() and annotations.is_file():  # the distributed flat layout
        paths, labels = [], []
        for line in _read_lines(annotations):
            fields = line.split("\t")
            if len(fields) < 2 or fields[1] not in index:
                raise CorruptFileError(f"{annotations}: malformed line {line!r} (expected file<TAB>wnid…)")
            path = val / "images" / fields[0]
            if not path.is_file():
                raise DatasetNotFoundError(f"{path}, listed in {annotations}, does not exist. {HOW_TO_GET}")
            paths.append(path)
            labels.append(index[fields[1]])
        return paths, labels
    if any((val / w).is_dir() for w in wnids):  # re-sorted into class folders
        paths, labels = [], []
        for wnid in wnids:
            files = image_files(val / wnid / "images") or image_files(val / wnid)
            paths += files
            labels += [index[wnid]] * len(files)
        return paths, labels
    raise DatasetNotFoundError(
        f"TinyImageNet's val split not found: neither {val / 'images'} with {annotations} "
        f"nor class folders {val}/<wnid>/. {HOW_TO_GET}"
    )


def load_tinyimagenet(options: DatasetOptions) -> ClassData:
    """TinyImageNet, 200 classes, 64×64×3; ImageNet mean/std."""
    folder = _find_root(options)
    wnids = sorted(_read_lines(folder / "wnids.txt"))
    if len(set(wnids)) != len(wnids):
        raise CorruptFileError(f"{folder / 'wnids.txt'} lists a wnid twice")
    train_paths, train_labels = _train_files(folder, wnids)
    test_paths, test_labels = _val_files(folder, wnids)
    train_x = to_float_images(read_rgb_images(train_paths, (SIZE, SIZE)))
    test_x = to_float_images(read_rgb_images(test_paths, (SIZE, SIZE)))
    return build_classdata(
        "tinyimagenet",
        _class_names(folder, wnids),
        train_x,
        np.asarray(train_labels),
        test_x,
        np.asarray(test_labels),
        options,
        MEAN,
        STD,
        source=str(folder),
    )
