"""Scoring sets made elsewhere: a set distilled by another codebase, trained and tested under the same
budget and recipe as this project's buffers (``evaluate PATH --dataset D --ipc N --values V``).

Three forms are read, none of them by unpickling:

- a folder of class folders of PNG/JPEG images (8 bit, so ``uint8`` values). A class folder names
  its class by an index prefix (``3``, ``3_cat``, ``03-cat``: the dataset's class id) or by the
  class's name (``cat``, case-insensitive; also as ``export`` slugs it). Images must match the
  dataset's size; they are converted to its channels (grey ``L`` or ``RGB``). Other files are ignored.
- an ``.npz`` (``numpy.load(allow_pickle=False)``) with ``images``, ``labels`` and optionally ``lr``
  and soft labels: ``soft_labels`` (N × classes), ``soft_label_classes`` (the class id of each
  column; by default the dataset's classes in order), ``soft_label_kind`` (``probabilities``, the
  default, or ``logits``) and ``soft_label_temperature`` (default 1), as ``export --format npz``
  writes them; bfloat16 soft labels as their 16-bit patterns
  in int16 with ``soft_labels_dtype`` set to ``bfloat16``;
- a ``.pt`` read with ``torch.load(weights_only=True)``: a dict with the same keys.

Images are N × C × H × W, N × H × W × C, or N × H × W for one channel; labels are the dataset's
class ids. ``values`` declares their space: ``pixels`` (float, [0, 1] is the picture's range),
``uint8`` (integers 0…255) or ``preprocessed`` (already normalised as the dataset's preprocessing:
mean/std or ZCA). Storage is counted as buffers are (bytes / 4), by the declared space: uint8 values
are one byte (0.25 float32-equivalents each), pixels and preprocessed values float32 (1 each),
whatever dtype the file happens to use. Soft labels count too: float16/bfloat16 values 0.5 each, other
floats 1. The set is refused if that exceeds ipc × classes × C·H·W.

Records name the set ``external:<name>`` (spec ``external:name=<name>``, strategy ``external``, role
``method``), so tables, ``contrast`` and the leaderboard read them without a registry entry.
"""

from __future__ import annotations

import hashlib
import math
import re
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from benchmark.buffer import SOFT_LABELS, SOFT_LABELS_DTYPE, SoftLabels
from benchmark.data.classdata import ClassData
from benchmark.errors import BenchmarkWarning, UserInputError
from benchmark.paths import safe_name

VALUES = ("pixels", "uint8", "preprocessed")
EXTERNAL = "external"  # the strategy name of every outside set's records
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")
BYTES = {"uint8": 1, "pixels": 4, "preprocessed": 4}  # per value, by the declared space
_INDEX = re.compile(r"^(\d+)(?:[-_. ]|$)")


@dataclass(frozen=True)
class OutsideSet:
    """An outside set as training consumes it: images in the dataset's preprocessed space (float32)."""

    name: str  # a safe name
    images: torch.Tensor
    labels: torch.Tensor
    lr: float | None
    values: str
    storage: float  # float32-equivalents, by the declared value space (and the soft labels' dtype)
    sha256: str  # of what was read, in the declared space
    soft_labels: SoftLabels | None = None

    @property
    def label(self) -> str:
        return f"{EXTERNAL}:{self.name}"

    @property
    def spec(self) -> str:
        return f"{EXTERNAL}:name={self.name}"


def outside_name(path: str | Path, name: str | None = None) -> str:
    """``name`` (else the file's stem, a folder's name) as a safe name."""
    path = Path(path)
    return safe_name(name if name else (path.name if path.is_dir() else path.stem), "set")


def read_outside_set(path: str | Path, values: str | None, data: ClassData, name: str | None = None):
    """The set at ``path`` checked against ``data`` and brought into its preprocessed space."""
    path = Path(path)
    if path.is_dir():
        if values not in (None, "uint8"):
            raise UserInputError(
                f"{path} is a folder of images: 8-bit pictures are --values uint8, not {values}"
            )
        raw, labels, lr, values = *_read_folder(path, data), None, "uint8"
        soft = None
    elif not path.is_file():
        raise UserInputError(
            f"{str(path)!r} does not exist; name a folder of class folders, an .npz or a .pt"
        )
    else:
        suffix = path.suffix.lower()
        if suffix not in (".npz", ".pt"):
            raise UserInputError(
                f"{path.name}: an outside set is a folder of class folders, an .npz or a .pt (a buffer of "
                "this project is a .safetensors)"
            )
        if values is None:
            raise UserInputError(f"declare the value space of {path.name}: --values {'|'.join(VALUES)}")
        content = _read_npz(path) if suffix == ".npz" else _read_pt(path)
        raw, labels, lr = _fields(content, path.name)
        soft = _soft_labels(content, len(labels.reshape(-1)), data, path.name)
    if values not in VALUES:
        raise UserInputError(f"--values {values!r}: choose one of {', '.join(VALUES)}")
    raw = _layout(raw, data)
    labels = _labels(labels, len(raw), data)
    if soft is not None and (outside := sorted(set(labels.tolist()) - set(soft.classes))):
        raise UserInputError(
            f"{path.name}: labels {outside[:5]} have no soft_labels column; soft_label_classes must hold "
            "every labelled class"
        )
    declared = _declared(raw, values)
    digest = hashlib.sha256(f"{values}|{tuple(declared.shape)}|{lr!r}|".encode())
    digest.update(declared.contiguous().numpy().tobytes())
    digest.update(labels.numpy().tobytes())
    soft_storage = 0.0
    if soft is not None:
        digest.update(f"|{SOFT_LABELS}|{soft.describe()}|{soft.values.dtype}|".encode())
        if soft.classes != tuple(data.classes):  # (so sets that name no classes keep their digests)
            digest.update(f"classes={list(soft.classes)}|".encode())
        digest.update(soft.values.contiguous().view(torch.uint8).numpy().tobytes())
        soft_storage = soft.values.numel() * (2 if soft.values.element_size() == 2 else 4) / 4
    if values == "preprocessed":
        images = declared
    else:
        images = data.from_pixels(declared.float() / 255 if values == "uint8" else declared)
    if not bool(torch.isfinite(images).all()):
        raise UserInputError(f"{path.name}: its images hold NaN or infinite values")
    return OutsideSet(
        name=outside_name(path, name),
        images=images.float().contiguous(),
        labels=labels,
        lr=lr,
        values=values,
        storage=declared.numel() * BYTES[values] / 4 + soft_storage,
        sha256=digest.hexdigest(),
        soft_labels=soft,
    )


# ---- the three forms ---------------------------------------------------------------------------


def class_of_folder(folder: str, data: ClassData) -> int:
    """The class a folder names: an index prefix (``3``, ``3_cat``), else the class's name."""
    match = _INDEX.match(folder)
    if match:
        index = int(match.group(1))
        if index in data.classes:
            return index
        raise UserInputError(
            f"class folder {folder!r} names class {index}; {data.name} has classes {min(data.classes)}…"
            f"{max(data.classes)}"
        )
    wanted = folder.casefold()
    for c in data.classes:
        name = data.class_names[c]
        if wanted in (name.casefold(), safe_name(name).casefold()):
            return c
    names = ", ".join(data.class_names[c] for c in data.classes)
    raise UserInputError(
        f"class folder {folder!r} names no class of {data.name}: name it by index (3 or 3_name) or by "
        f"name (one of {names})"
    )


def _read_folder(path: Path, data: ClassData) -> tuple[torch.Tensor, torch.Tensor]:
    from PIL import Image, UnidentifiedImageError

    stray = sorted(p.name for p in path.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
    if stray:
        raise UserInputError(
            f"{path}: images must lie in class folders ({stray[0]} lies in the folder itself)"
        )
    mode = "L" if data.channels == 1 else "RGB"
    height, width = data.image_shape[1:]
    found: dict[int, str] = {}
    images, labels = [], []
    for folder in sorted(
        (p for p in path.iterdir() if p.is_dir() and not p.name.startswith(".")), key=_natural
    ):
        files = sorted(
            (p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES), key=_natural
        )
        if not files:
            continue
        c = class_of_folder(folder.name, data)
        if c in found:
            raise UserInputError(f"class folders {found[c]!r} and {folder.name!r} both name class {c}")
        found[c] = folder.name
        for file in files:
            try:
                with Image.open(file) as picture:
                    if picture.mode not in ("1", "L", "LA", "P", "RGB", "RGBA"):
                        raise UserInputError(
                            f"{file}: a {picture.mode} image; an outside set's pictures are 8-bit grey or RGB"
                        )
                    if picture.size != (width, height):
                        raise UserInputError(
                            f"{file} is {picture.size[0]}×{picture.size[1]}; {data.name} images are "
                            f"{width}×{height} (nothing is resized)"
                        )
                    array = np.asarray(picture.convert(mode), dtype=np.uint8)
            except (UnidentifiedImageError, OSError) as error:
                raise UserInputError(f"{file} is not a readable image ({error})") from None
            images.append(array.reshape(height, width, data.channels))
            labels.append(c)
    if not images:
        raise UserInputError(f"{path} holds no class folder with PNG/JPEG images")
    return torch.from_numpy(np.stack(images)), torch.tensor(labels, dtype=torch.int64)


def _natural(path: Path) -> tuple:
    return tuple(int(part) if part.isdigit() else part for part in re.split(r"(\d+)", path.name))


def _read_npz(path: Path) -> dict[str, Any]:
    try:
        with np.load(path, allow_pickle=False) as archive:
            return {key: archive[key] for key in archive.files}
    except ValueError as error:  # object arrays would need unpickling
        raise UserInputError(f"{path.name}: {error}; store plain numeric arrays (no objects)") from None
    except (OSError, EOFError) as error:
        raise UserInputError(f"{path.name} is not a readable .npz ({error})") from None


def _read_pt(path: Path) -> dict[str, Any]:
    import pickle

    try:
        content = torch.load(path, map_location="cpu", weights_only=True)
    except (pickle.UnpicklingError, RuntimeError, EOFError, OSError, AttributeError) as error:
        reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise UserInputError(
            f"{path.name} cannot be read with torch.load(weights_only=True) ({reason[:200]}); save a dict "
            "of tensors: torch.save({'images': ..., 'labels': ...}, path)"
        ) from None
    if not isinstance(content, dict):
        raise UserInputError(
            f"{path.name} holds a {type(content).__name__}, not a dict with images and labels"
        )
    return content


def _fields(content: dict[str, Any], source: str) -> tuple[torch.Tensor, torch.Tensor, float | None]:
    missing = [key for key in ("images", "labels") if key not in content]
    if missing:
        raise UserInputError(
            f"{source} lacks {' and '.join(missing)} (it holds {', '.join(map(str, content))})"
        )
    try:
        images, labels = torch.as_tensor(content["images"]), torch.as_tensor(content["labels"])
    except (TypeError, ValueError, RuntimeError) as error:
        raise UserInputError(f"{source}: images and labels must be numeric arrays ({error})") from None
    lr = content.get("lr")
    if lr is not None:
        lr_tensor = torch.as_tensor(lr)
        if lr_tensor.numel() != 1 or not lr_tensor.is_floating_point():
            raise UserInputError(f"{source}: lr must be one number, not shape {tuple(lr_tensor.shape)}")
        lr = float(lr_tensor.reshape(-1)[0])
        if math.isnan(lr):  # an export of a buffer without a learned lr
            lr = None
        elif not (math.isfinite(lr) and lr > 0):
            raise UserInputError(f"{source}: lr is {lr}; a learning rate is a finite positive number")
    return images, labels, lr


def _soft_labels(content: dict[str, Any], count: int, data: ClassData, source: str) -> SoftLabels | None:
    """The optional soft labels of an .npz/.pt (columns: ``soft_label_classes``, else the dataset's
    classes in order)."""
    if SOFT_LABELS not in content:
        return None
    kind = content.get("soft_label_kind", "probabilities")
    temperature = content.get("soft_label_temperature", 1.0)
    classes = tuple(data.classes)
    try:
        if "soft_label_classes" in content:
            classes = _soft_label_classes(torch.as_tensor(content["soft_label_classes"]), data)
        values = torch.as_tensor(content[SOFT_LABELS])
        if str(content.get(SOFT_LABELS_DTYPE, "")) == "bfloat16":  # an .npz's raw bfloat16 patterns
            values = values.view(torch.bfloat16)
        kind = str(kind.item() if hasattr(kind, "item") else kind)
        temperature = float(torch.as_tensor(temperature).reshape(-1)[0])
        if values.dim() != 2 or len(values) != count:
            raise ValueError(f"soft_labels of shape {tuple(values.shape)} for {count} images")
        if values.is_floating_point() and not bool(torch.isfinite(values).all()):
            raise ValueError("soft_labels hold NaN or infinite values")
        return SoftLabels(values, classes, kind, temperature)
    except (TypeError, ValueError, RuntimeError, IndexError) as error:
        raise UserInputError(
            f"{source}: {error}; soft_labels are N × {len(classes)} floats, soft_label_classes distinct "
            f"class ids of {data.name}, soft_label_kind probabilities|logits, soft_label_temperature a "
            "number > 0"
        ) from None


def _soft_label_classes(ids: torch.Tensor, data: ClassData) -> tuple[int, ...]:
    if ids.dim() != 1 or ids.is_floating_point() or ids.is_complex() or ids.dtype == torch.bool:
        raise ValueError(f"soft_label_classes must be a 1-D list of integer class ids, not {ids.dtype} "
                         f"of shape {tuple(ids.shape)}")  # fmt: skip
    classes = tuple(int(c) for c in ids.tolist())
    unknown = sorted(set(classes) - set(data.classes))
    if unknown or len(set(classes)) != len(classes):
        raise ValueError(f"soft_label_classes {list(classes)[:10]} repeat a class or name one {data.name} "
                         "lacks")  # fmt: skip
    return classes


# ---- checks against the dataset ------------------------------------------------------------------


def _layout(images: torch.Tensor, data: ClassData) -> torch.Tensor:
    """N × C × H × W from N × C × H × W, N × H × W × C or (one channel) N × H × W."""
    shape = tuple(data.image_shape)
    channels, height, width = shape
    if images.dim() == 4 and tuple(images.shape[1:]) == shape:
        result = images
    elif images.dim() == 4 and tuple(images.shape[1:]) == (height, width, channels):
        result = images.permute(0, 3, 1, 2)
    elif images.dim() == 3 and channels == 1 and tuple(images.shape[1:]) == (height, width):
        result = images.unsqueeze(1)
    else:
        raise UserInputError(
            f"images of shape {tuple(images.shape)} do not match {data.name}'s images ({channels}×{height}×"
            f"{width}): give N×C×H×W or N×H×W×C"
        )
    if len(result) == 0:
        raise UserInputError("the set holds no images")
    return result.contiguous()


def _labels(labels: torch.Tensor, count: int, data: ClassData) -> torch.Tensor:
    if labels.is_floating_point() or labels.is_complex() or labels.dtype == torch.bool:
        raise UserInputError(f"labels must be integer class ids, not {labels.dtype}")
    labels = labels.reshape(-1).long()
    if len(labels) != count:
        raise UserInputError(f"{count} images but {len(labels)} labels")
    unknown = sorted(set(labels.tolist()) - set(data.classes))
    if unknown:
        raise UserInputError(
            f"labels {unknown[:5]} are not classes of {data.name} ({len(data.classes)} classes)"
        )
    if len(set(labels.tolist())) < 2:
        raise UserInputError("the set holds one class; an accuracy needs two or more")
    return labels


def _declared(images: torch.Tensor, values: str) -> torch.Tensor:
    """The images in the declared space (uint8, or float32), after checking they fit it."""
    if values == "uint8":
        whole = not images.is_floating_point() or bool((images == images.round()).all())
        if images.dtype == torch.bool or not whole or images.min() < 0 or images.max() > 255:
            raise UserInputError(
                f"--values uint8 but the images hold {images.dtype} values from {float(images.min()):g} to "
                f"{float(images.max()):g}, not integers 0…255; declare --values pixels or preprocessed"
            )
        return images.to(torch.uint8)
    if not images.is_floating_point():
        raise UserInputError(
            f"--values {values} but the images are {images.dtype}; integers 0…255 are --values uint8"
        )
    images = images.float()
    low, high = float(images.min()), float(images.max())
    if values == "pixels" and (low < -1 or high > 2):
        warnings.warn(
            f"--values pixels but the images range from {low:.3g} to {high:.3g}, far outside [0, 1]; if the "
            "set is already normalised, declare --values preprocessed",
            BenchmarkWarning,
            stacklevel=3,
        )
    return images


# ---- records ------------------------------------------------------------------------------------


def check_one_set_per_name(records, config) -> None:
    """A name stands for one set: records of the same name (dataset, suite, profile) scored from other
    contents are not mixed into its row; one line asks for another name. ``config``: a RecordConfig."""
    config = config.to_dict()
    same = ("dataset", "suite", "profile", "spec")
    others = {
        r.config.get("set_sha256")
        for r in records
        if all(r.config.get(k) == config[k] for k in same)
        and r.config.get("set_sha256") != config["set_sha256"]
    }
    if others:
        raise UserInputError(
            f"the results already hold {config['spec'].replace('name=', '')} scored from another set "
            f"(sha256 {sorted(map(str, others))[0][:12]}…); choose another --name"
        )
