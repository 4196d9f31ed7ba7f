"""The 10-class ImageNet subsets of the TM/HaBa/SPEED references, 128×128×3, from an ImageNet tree.

The tree holds ``train/`` and ``val/`` with one folder per wnid (the full 1000-class tree, as
torchvision's ``ImageNet`` prepares it, or only the subset's 10 folders). Label c is position c of
the subset's wnid list (docs/protocol.md §0); ImageNet's val is the test split. Images are resized to
128×128 (aspect not kept) and center-cropped to 128, as the references do.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from benchmark.data.build import build_classdata, read_rgb_images, to_float_images
from benchmark.data.classdata import ClassData, DatasetOptions
from benchmark.data.locate import image_files
from benchmark.errors import DatasetNotFoundError

MEAN, STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)
SIZE = 128
# Label c of a subset = position c of its wnid list (docs/protocol.md §0).
SUBSETS: dict[str, list[str]] = {
    "imagenette": (
        "n01440764 n02102040 n02979186 n03000684 n03028079 n03394916 n03417042 n03425413 n03445777 n03888257"
    ).split(),
    "imagewoof": (
        "n02096294 n02093754 n02111889 n02088364 n02086240 n02089973 n02087394 n02115641 n02099601 n02105641"
    ).split(),
    "imagemeow": (
        "n02123045 n02123159 n02123394 n02123597 n02124075 n02129165 n02129604 n02128925 n02128757 n02127052"
    ).split(),
    "imagesquawk": (
        "n01806143 n02007558 n01818515 n02051845 n02056570 n01614925 n01843383 n01518878 n01860187 n01819313"
    ).split(),
    "imagefruit": (
        "n07753275 n07753592 n07745940 n07747607 n07749582 n07768694 n07753113 n07720875 n07718472 n07742313"
    ).split(),
    "imageyellow": (
        "n02206856 n12057211 n07753592 n07749582 n12144580 n04146614 n03530642 n02129165 n01773157 n01531178"
    ).split(),
}
# The same classes as indices into ImageNet-1k's sorted wnids (checked when the full tree is present).
INDICES: dict[str, list[int]] = {
    "imagenette": [0, 217, 482, 491, 497, 566, 569, 571, 574, 701],
    "imagewoof": [193, 182, 258, 162, 155, 167, 159, 273, 207, 229],
    "imagemeow": [281, 282, 283, 284, 285, 291, 292, 290, 289, 287],
    "imagesquawk": [84, 130, 88, 144, 145, 22, 96, 9, 100, 89],
    "imagefruit": [953, 954, 949, 950, 951, 957, 952, 945, 943, 948],
    "imageyellow": [309, 986, 954, 951, 987, 779, 599, 291, 72, 11],
}
HOW_TO_GET = (
    "Get ImageNet (ILSVRC2012) from image-net.org and point --data-root at a folder holding train/ and val/ "
    "with one folder per wnid (torchvision's ImageNet prepares this layout; val must be sorted into wnid "
    "folders); only the subset's 10 wnid folders are needed."
)


def _find_root(options: DatasetOptions, subset: str) -> Path:
    wnids = SUBSETS[subset]
    root = Path(options.data_root).expanduser() if options.data_root else None
    candidates = []
    if root is not None:
        candidates = [root, root / "imagenet", root / "ILSVRC2012", root / "ILSVRC" / "Data" / "CLS-LOC"]
    for folder in candidates:
        if all((folder / split / w).is_dir() for split in ("train", "val") for w in wnids):
            return folder
    tried = ", ".join(str(c) for c in candidates) or "nowhere (no --data-root given)"
    raise DatasetNotFoundError(
        f"{subset} needs an ImageNet tree with train/<wnid>/ and val/<wnid>/ for {' '.join(wnids)}; "
        f"looked in: {tried}. {HOW_TO_GET}"
    )


def _check_indices(folder: Path, subset: str) -> None:
    """With the full 1000-class tree, the wnids must sit at the published class indices."""
    all_wnids = sorted(p.name for p in (folder / "train").iterdir() if p.is_dir() and p.name.startswith("n"))
    if len(all_wnids) != 1000:
        return
    found = [all_wnids.index(w) for w in SUBSETS[subset]]
    if found != INDICES[subset]:
        raise DatasetNotFoundError(
            f"{folder / 'train'} does not look like ImageNet-1k: {subset}'s wnids sit at {found}, "
            f"expected {INDICES[subset]}"
        )


def _resize(image):
    """Resize to 128×128 (aspect not kept), then center crop 128, as the references' transforms do."""
    from torchvision.transforms import CenterCrop, Resize

    return CenterCrop(SIZE)(Resize((SIZE, SIZE))(image))


def _split(folder: Path, wnids: list[str], subset: str) -> tuple[np.ndarray, np.ndarray]:
    paths, labels = [], []
    for label, wnid in enumerate(wnids):
        files = image_files(folder / wnid)
        if not files:
            raise DatasetNotFoundError(f"{subset}: {folder / wnid} holds no JPEG/PNG images. {HOW_TO_GET}")
        paths += files
        labels += [label] * len(files)
    return read_rgb_images(paths, (SIZE, SIZE), resize=_resize), np.asarray(labels)


def load_imagenet_subset(subset: str, options: DatasetOptions) -> ClassData:
    """One of :data:`SUBSETS`, 10 classes, 128×128×3, ImageNet mean/std."""
    folder = _find_root(options, subset)
    _check_indices(folder, subset)
    wnids = SUBSETS[subset]
    train_x, train_y = _split(folder / "train", wnids, subset)
    test_x, test_y = _split(folder / "val", wnids, subset)
    return build_classdata(
        subset, wnids, to_float_images(train_x), train_y, to_float_images(test_x), test_y, options, MEAN, STD,
        source=str(folder),
    )  # fmt: skip


def load_imagenette(options: DatasetOptions) -> ClassData:
    """ImageNette (10 easy ImageNet classes), 128×128×3."""
    return load_imagenet_subset("imagenette", options)


def load_imagewoof(options: DatasetOptions) -> ClassData:
    """ImageWoof (10 dog breeds), 128×128×3."""
    return load_imagenet_subset("imagewoof", options)


def load_imagefruit(options: DatasetOptions) -> ClassData:
    """ImageFruit (10 fruits), 128×128×3."""
    return load_imagenet_subset("imagefruit", options)


def load_imagemeow(options: DatasetOptions) -> ClassData:
    """ImageMeow (10 cats), 128×128×3."""
    return load_imagenet_subset("imagemeow", options)


def load_imagesquawk(options: DatasetOptions) -> ClassData:
    """ImageSquawk (10 birds), 128×128×3."""
    return load_imagenet_subset("imagesquawk", options)


def load_imageyellow(options: DatasetOptions) -> ClassData:
    """ImageYellow (10 yellow things), 128×128×3."""
    return load_imagenet_subset("imageyellow", options)
