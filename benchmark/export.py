"""Export a buffer as files a person or another program can open.

``pt`` and ``npz`` hold exactly what training consumed (:meth:`Buffer.materialize`): ``images``
float32 N × C × H × W in the dataset's preprocessed space, ``labels`` int64, the learned ``lr`` (a
0-dim float32, only where the buffer learned one), and what maps the images to pixels: ``mean`` and
``std`` per channel (``pixels = images * std + mean``) or, for ZCA-whitened data, the fitted
transform ``zca_mean`` (1 × D), ``zca_matrix`` and ``zca_inverse`` (D × D) with
``pixels = ((images.flatten(1) + zca_mean @ zca_matrix) @ zca_inverse).reshape(images.shape)``.
A buffer's soft labels come as ``soft_labels`` (N × the buffer's classes, at their stored dtype; in
an ``.npz``, bfloat16, which numpy lacks, as its raw 16-bit patterns in int16 with
``soft_labels_dtype`` ``bfloat16``), ``soft_label_classes`` (int64: the dataset class id of each
column, so a continual step's two columns stay its two classes), ``soft_label_temperature`` (0-dim
float64, so a temperature such as 0.7 reads back as written) and ``soft_label_kind``
(``probabilities`` or ``logits``, a string), the keys ``evaluate --values preprocessed`` reads back
(benchmark/external.py).
A ``.pt`` holds plain tensors and strings only (read it with ``torch.load(path, weights_only=True)``);
the ``.npz`` also ``class_names`` (strings, no pickles). ``png`` is for people: one 8-bit PNG per image
under ``<class index>_<class name>/`` and ``labels.csv``, the pixels clamped to [0, 1] (how many
values were clamped is printed and written to ``buffer.json``). Every format also writes
``buffer.json``: the manifest, the learned lr, the value space of the files and what was written.

An export is written into a hidden sibling folder and renamed into place when complete
(:func:`benchmark.atomic.atomic_folder`): a second export replaces the first entirely, a killed or
failed one leaves the folder as it was. A folder holding anything but an earlier export is refused,
so an export never deletes a person's files. A manifest that cannot make honest pictures (classes
named twice, a mean/std that does not match the channels, a zero std, images not N × C × H × W) is
refused with one line before anything is written.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import torch

from benchmark.atomic import atomic_folder
from benchmark.buffer import SOFT_LABELS, SOFT_LABELS_DTYPE, Buffer
from benchmark.errors import BenchmarkWarning, UserInputError
from benchmark.paths import inside, safe_name

FORMATS = ("png", "npz", "pt")
INFO = "buffer.json"


def _refuse(buffer: Buffer, problem: str) -> UserInputError:
    what = buffer.manifest.get("spec") or buffer.kind
    return UserInputError(f"cannot export the {what} buffer: {problem}")


def class_names(buffer: Buffer) -> dict[int, str]:
    """Class id → name from the manifest (ids themselves for buffers made before names were stored);
    classes must be distinct integers and names strings, else one line naming the field."""
    classes = buffer.manifest.get("classes")
    if not isinstance(classes, list) or not classes:
        raise _refuse(buffer, f"manifest field 'classes' is {classes!r}, not a non-empty list")
    if not all(isinstance(c, int) and not isinstance(c, bool) and c >= 0 for c in classes):
        raise _refuse(buffer, f"manifest field 'classes' holds {classes!r}, not class ids (integers ≥ 0)")
    if len(set(classes)) != len(classes):
        raise _refuse(buffer, f"manifest field 'classes' names a class twice ({classes!r})")
    names = buffer.manifest.get("class_names") or []
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise _refuse(buffer, "manifest field 'class_names' is not a list of strings")
    return {c: (names[i] if i < len(names) else str(c)) for i, c in enumerate(classes)}


def _check_normalisation(buffer: Buffer, channels: int) -> None:
    for name in ("mean", "std"):
        if name not in buffer.manifest:
            continue
        value = buffer.manifest[name]
        numbers = isinstance(value, list) and all(
            isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v) for v in value
        )
        if not numbers or len(value) != channels:
            raise _refuse(buffer, f"manifest field {name!r} is {value!r}, not {channels} finite numbers")
        if name == "std" and any(v <= 0 for v in value):
            raise _refuse(buffer, f"manifest field 'std' is {value!r}; a std must be positive")


def checked_images(buffer: Buffer, cache_root: str | Path | None):
    """(images as training consumed them, labels, class names, the ZCA transform or None) after
    checking the manifest; one line naming what cannot be exported honestly."""
    names = class_names(buffer)
    images, labels, _ = buffer.materialize("cpu")
    if images.dim() != 4 or len(images) == 0:
        raise _refuse(buffer, f"it decodes to images of shape {tuple(images.shape)}; images must be N×C×H×W")
    if not torch.isfinite(images).all():
        raise _refuse(buffer, "its images hold NaN or infinite values")
    unknown = sorted(set(labels.tolist()) - set(names))
    if unknown:
        raise _refuse(buffer, f"labels {unknown} are not among the manifest's classes")
    _check_normalisation(buffer, images.shape[1])
    return images.detach().float().contiguous(), labels.long(), names, _whitening(buffer, cache_root)


def _whitening(buffer: Buffer, cache_root: str | Path | None):
    """The fitted ZCA transform a whitened buffer names (cached under ``cache_root``), else None."""
    from benchmark.data.zca import load_whitening

    key = buffer.manifest.get("whitening")
    if not key:
        return None
    folder = Path(cache_root or "results") / "cache" / "zca"
    if not (folder / f"{key}.safetensors").is_file():
        raise UserInputError(
            f"the ZCA transform {key} is not in {folder}; pass --results with the results folder the "
            "buffer was made in (its cache holds the transform)"
        )
    return load_whitening(cache_root or "results", key)


def pixels_for_people(buffer: Buffer, cache_root: str | Path | None):
    """(images in [0, 1] as N × C × H × W, labels, class names) after checking the manifest."""
    images, _, names, _ = checked_images(buffer, cache_root)
    if images.shape[1] not in (1, 3):
        raise _refuse(buffer, f"its images have {images.shape[1]} channels; pictures have 1 or 3")
    pixels, labels = buffer.pixels(cache_root)
    return pixels, labels, names


def exact_tensors(buffer: Buffer, images, labels, lr: float | None, zca) -> dict[str, torch.Tensor]:
    """What training consumed, and what maps it to pixels (see the module docstring)."""
    tensors = {"images": images, "labels": labels}
    soft = buffer.soft_labels
    if soft is not None:
        values = soft.values.detach().cpu()
        tensors[SOFT_LABELS] = values.contiguous()  # at its stored dtype: storage re-scores the same
        tensors["soft_label_classes"] = torch.tensor(soft.classes, dtype=torch.int64)
        tensors["soft_label_temperature"] = torch.tensor(float(soft.temperature), dtype=torch.float64)
    if lr is not None:
        tensors["lr"] = buffer.tensors["lr"].detach().reshape(-1)[0].float().cpu().clone()
    if zca is not None:
        tensors |= {
            "zca_mean": zca.mean_vector.detach().float().cpu().contiguous(),
            "zca_matrix": zca.transform_matrix.detach().float().cpu().contiguous(),
            "zca_inverse": zca.transform_inv.detach().float().cpu().contiguous(),
        }
    elif "mean" in buffer.manifest and "std" in buffer.manifest:
        tensors["mean"] = torch.tensor(buffer.manifest["mean"], dtype=torch.float32)
        tensors["std"] = torch.tensor(buffer.manifest["std"], dtype=torch.float32)
    return tensors


def to_pixels_text(tensors: dict[str, torch.Tensor]) -> str:
    if "zca_matrix" in tensors:
        return "pixels = ((images.flatten(1) + zca_mean @ zca_matrix) @ zca_inverse).reshape(images.shape)"
    if "mean" in tensors:
        return "pixels = images * std[None, :, None, None] + mean[None, :, None, None]"
    return "unknown: the buffer's manifest predates mean/std"


def _finite(value: Any) -> Any:
    """JSON-safe: non-finite floats become null (NaN is not JSON)."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    return value


def earlier_export(folder: Path) -> bool:
    """Whether ``folder`` is missing, empty, or holds exactly an earlier export (its ``buffer.json``
    lists every other file): only such a folder may be replaced."""
    if not folder.exists():
        return True
    try:
        info = json.loads((folder / INFO).read_text()) if (folder / INFO).is_file() else {}
        listed = set(info.get("files", [])) | {INFO} if isinstance(info, dict) else set()
    except (OSError, ValueError, TypeError):
        return False
    for base, folders, files in os.walk(folder):
        for name in files + [f for f in folders if Path(base, f).is_symlink()]:
            if Path(base, name).relative_to(folder).as_posix() not in listed:
                return False
    return True


def check_export_folder(folder: str | Path) -> Path:
    """The export folder as an absolute path, or one line: a file, a path under a file, a dangling
    link, a folder holding other files."""
    given = Path(folder)
    if given.is_symlink() and not given.exists():
        raise UserInputError(f"--output-dir {str(given)!r} is a symbolic link to nothing; choose a folder")
    target = given.resolve()
    if target.parent == target:
        raise UserInputError(f"--output-dir {str(given)!r} is a file system root; choose a folder in it")
    existing = target
    while not existing.exists() and existing.parent != existing:
        existing = existing.parent
    if not existing.is_dir():
        what = "is a file" if existing == target else f"has a file in its path ({existing})"
        raise UserInputError(f"--output-dir {str(given)!r} {what}; choose a folder")
    if not earlier_export(target):
        raise UserInputError(
            f"--output-dir {str(given)!r} holds files that are not an earlier export; choose a new or "
            "empty folder (an export replaces only an earlier export)"
        )
    return target


def export_buffer(buffer: Buffer, folder: str | Path, fmt: str = "png", cache_root: str | Path | None = None):
    """Write the buffer in ``fmt`` as the folder ``folder`` (replacing an earlier export there, all or
    nothing); returns the paths written. ``buffer.json`` says what the values are (``content``)."""
    if fmt not in FORMATS:
        raise UserInputError(f"unknown export format {fmt!r}; choose one of {', '.join(FORMATS)}")
    target = check_export_folder(folder)
    images, labels, names, zca = checked_images(buffer, cache_root)
    lr = buffer.learned_lr
    if lr is not None and not math.isfinite(lr):
        warnings.warn(f"the buffer's learned lr is {lr}; exported as null", BenchmarkWarning, stacklevel=2)
        lr = None
    label_list = [int(c) for c in labels.tolist()]
    class_list = [names[c] for c in buffer.manifest["classes"]]
    if fmt == "png":
        if images.shape[1] not in (1, 3):
            raise _refuse(buffer, f"its images have {images.shape[1]} channels; pictures have 1 or 3")
        pixels, _ = buffer.pixels(cache_root, clamp=False)
        outside = int(((pixels < 0) | (pixels > 1)).sum())
        content = {"values": "pixels", "clamped": {"values": outside, "of": pixels.numel()},
                   "note": "8-bit pictures for people, pixels clamped to [0, 1]; for the exact values "
                           "export pt or npz"}  # fmt: skip

        def write(stage: Path) -> list[str]:
            return _write_png(stage, pixels.clamp(0, 1), label_list, names)
    else:
        tensors = exact_tensors(buffer, images, labels, lr, zca)
        soft = buffer.soft_labels
        content = {
            "values": "preprocessed",
            "dtype": "float32",
            "to_pixels": to_pixels_text(tensors),
            "note": "exactly the images, labels and lr training consumed (Buffer.materialize)",
        }
        if soft is not None:
            content["soft_labels"] = soft.describe()
        kind = soft.kind if soft is not None else None

        def write(stage: Path) -> list[str]:
            return _WRITERS[fmt](stage, tensors, class_list, kind)

    with atomic_folder(target) as stage:
        files = write(stage)
        info = {"manifest": _finite(buffer.manifest), "learned_lr": lr, "images": len(label_list),
                "format": fmt, "content": content, "files": files}  # fmt: skip
        (stage / INFO).write_text(
            json.dumps(info, indent=1, sort_keys=True, default=str, allow_nan=False) + "\n"
        )
    return [target / name for name in [*files, INFO]]


def summary(folder: str | Path) -> str:
    """One line saying what an export folder holds (from its ``buffer.json``)."""
    info = json.loads((Path(folder) / INFO).read_text())
    content = info["content"]
    if content["values"] == "pixels":
        clamped = content["clamped"]
        share = 100 * clamped["values"] / max(1, clamped["of"])
        return (
            f"{info['images']} images as 8-bit PNG, pixels clamped to [0, 1] ({clamped['values']} of "
            f"{clamped['of']} values, {share:.1f} %, were outside); for the exact values export pt or npz"
        )
    return (
        f"{info['images']} images exactly as training consumed them (float32, preprocessed; "
        f"{content['to_pixels']})"
    )


def _write_png(stage: Path, pixels, labels, names) -> list[str]:
    from PIL import Image

    as_uint8 = (pixels * 255).round().to(torch.uint8).permute(0, 2, 3, 1).numpy()  # N, H, W, C
    folders = {c: safe_name(f"{c}_{names[c]}", str(c)) for c in names}
    counts: dict[int, int] = {}
    rows = []
    for image, c in zip(as_uint8, labels, strict=True):
        index = counts.setdefault(c, 0)
        counts[c] += 1
        path = inside(stage, Path(folders[c]) / f"{index:04d}.png")
        path.parent.mkdir(exist_ok=True)
        Image.fromarray(image[..., 0] if image.shape[-1] == 1 else image).save(path)
        rows.append((path.relative_to(stage).as_posix(), c, names[c]))
    with (stage / "labels.csv").open("w", newline="") as handle:
        csv.writer(handle).writerows([("file", "label", "class_name"), *rows])
    return [row[0] for row in rows] + ["labels.csv"]


def _numpy_exact(tensor: torch.Tensor) -> np.ndarray:
    """The tensor as numpy, bit for bit: bfloat16 (no numpy dtype) as its 16-bit patterns in int16."""
    return tensor.view(torch.int16).numpy() if tensor.dtype == torch.bfloat16 else tensor.numpy()


def _write_npz(
    stage: Path, tensors: dict[str, torch.Tensor], class_list: list[str], soft_label_kind: str | None
) -> list[str]:
    data = io.BytesIO()
    arrays = {name: _numpy_exact(tensor) for name, tensor in tensors.items()}
    if tensors.get(SOFT_LABELS, torch.empty(0)).dtype == torch.bfloat16:
        arrays[SOFT_LABELS_DTYPE] = np.asarray("bfloat16", dtype=str)
    if soft_label_kind is not None:
        arrays["soft_label_kind"] = np.asarray(soft_label_kind, dtype=str)
    np.savez_compressed(data, **arrays, class_names=np.asarray(class_list, dtype=str))
    (stage / "buffer.npz").write_bytes(data.getvalue())
    return ["buffer.npz"]


def _write_pt(
    stage: Path, tensors: dict[str, torch.Tensor], class_list: list[str], soft_label_kind: str | None
) -> list[str]:
    data = io.BytesIO()  # in memory first: torch reports a full disk as a RuntimeError, not an OSError
    extra = {"soft_label_kind": soft_label_kind} if soft_label_kind is not None else {}
    torch.save(tensors | extra, data)
    (stage / "buffer.pt").write_bytes(data.getvalue())
    return ["buffer.pt"]


_WRITERS = {"png": _write_png, "npz": _write_npz, "pt": _write_pt}


def results_root_of(buffer_path: Path) -> Path | None:
    """The results folder a stored buffer lives in (``<root>/buffers/<strategy>/<key>``), if it does."""
    parents = buffer_path.resolve().parents
    return parents[2] if len(parents) > 2 and parents[1].name == "buffers" else None
