"""Export a buffer as files a person or another program can open: its decoded images with the
dataset's preprocessing undone (ZCA or mean/std), labels, class names and the learned lr.

``png``: one 8-bit PNG per image under ``<class index>_<class name>/``, and ``labels.csv``;
``npz``: ``images`` (N, H, W, C) uint8, ``labels``, ``class_names``, ``lr``; ``pt``: the same as
tensors (images float in [0, 1], N × C × H × W). Every format also writes ``buffer.json`` (the
manifest, the learned lr and what was written).
"""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path

import numpy as np
import torch

from benchmark.buffer import Buffer

FORMATS = ("png", "npz", "pt")


def class_names(buffer: Buffer) -> dict[int, str]:
    """Class id → name from the manifest (ids themselves for buffers made before names were stored)."""
    names = buffer.manifest.get("class_names") or []
    classes = buffer.manifest["classes"]
    return {c: (names[i] if i < len(names) else str(c)) for i, c in enumerate(classes)}


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", text).strip("-") or "class"


def export_buffer(buffer: Buffer, folder: str | Path, fmt: str = "png", cache_root: str | Path | None = None):
    """Write the buffer's images in ``fmt`` under ``folder``; returns the paths written."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    pixels, labels = buffer.pixels(cache_root)
    names = class_names(buffer)
    label_list = [int(c) for c in labels.tolist()]
    as_uint8 = (pixels * 255).round().to(torch.uint8).permute(0, 2, 3, 1).numpy()  # N, H, W, C
    written: list[Path] = []
    if fmt == "png":
        from PIL import Image

        counts: dict[int, int] = {}
        rows = []
        for image, c in zip(as_uint8, label_list, strict=True):
            index = counts.setdefault(c, 0)
            counts[c] += 1
            path = folder / f"{c}_{_slug(names[c])}" / f"{index:04d}.png"
            path.parent.mkdir(parents=True, exist_ok=True)
            Image.fromarray(image[..., 0] if image.shape[-1] == 1 else image).save(path)
            written.append(path)
            rows.append((path.relative_to(folder).as_posix(), c, names[c]))
        with (folder / "labels.csv").open("w", newline="") as handle:
            csv.writer(handle).writerows([("file", "label", "class_name"), *rows])
        written.append(folder / "labels.csv")
    elif fmt == "npz":
        path = folder / "buffer.npz"
        np.savez_compressed(
            path, images=as_uint8, labels=np.asarray(label_list), lr=np.asarray(buffer.learned_lr or np.nan),
            class_names=np.asarray([names[c] for c in buffer.manifest["classes"]]),
        )  # fmt: skip
        written.append(path)
    elif fmt == "pt":
        path = folder / "buffer.pt"
        torch.save(
            {"images": pixels, "labels": labels, "lr": buffer.learned_lr,
             "class_names": [names[c] for c in buffer.manifest["classes"]]},
            path,
        )  # fmt: skip
        written.append(path)
    else:
        from benchmark.errors import UserInputError

        raise UserInputError(f"unknown export format {fmt!r}; choose one of {', '.join(FORMATS)}")
    info = {"manifest": buffer.manifest, "learned_lr": buffer.learned_lr, "images": len(label_list),
            "files": [p.relative_to(folder).as_posix() for p in written]}  # fmt: skip
    (folder / "buffer.json").write_text(json.dumps(info, indent=1, sort_keys=True, default=str) + "\n")
    return [*written, folder / "buffer.json"]


def results_root_of(buffer_path: Path) -> Path | None:
    """The results folder a stored buffer lives in (``<root>/buffers/<strategy>/<key>``), if it does."""
    parents = buffer_path.resolve().parents
    return parents[2] if len(parents) > 2 and parents[1].name == "buffers" else None
