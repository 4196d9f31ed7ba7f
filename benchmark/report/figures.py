"""Figures (matplotlib, Agg; PNG and SVG) for the leaderboard, made only where records exist, of the
kind each suite's table declares: ``lines`` along an axis (continual steps, paper Fig. 2), ``bars``
over the columns (corruptions, Fig. 3; networks), ``storage`` (accuracy against storage); and a grid
of each referenced buffer's synthetic images."""

from __future__ import annotations

import io
import re
from pathlib import Path
from typing import Any

import numpy as np

from benchmark.atomic import atomic_write_bytes
from benchmark.report.tables import Table
from benchmark.results.frame import missing

MAX_COLUMNS = 20  # images per gallery row; a class with more wraps to further rows


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plt.rcParams["svg.fonttype"] = "none"  # SVG text stays text: editable, searchable
    return plt


def _slug(*parts: Any) -> str:
    text = "_".join(str(p) for p in parts if not missing(p) and str(p) != "")
    return re.sub(r"[^A-Za-z0-9_.=-]+", "-", text).strip("-")


def _save(fig, folder: Path, name: str, title: str) -> dict[str, Any]:
    plt = _pyplot()
    png, svg = folder / f"{name}.png", folder / f"{name}.svg"
    for path, options in ((png, {"dpi": 110}), (svg, {})):  # atomic: a kill leaves no half image
        data = io.BytesIO()
        fig.savefig(data, format=path.suffix[1:], bbox_inches="tight", **options)
        atomic_write_bytes(path, data.getvalue())
    plt.close(fig)
    return {"title": title, "png": str(png), "svg": str(svg)}


def _measured(table: Table):
    cells = table.cells[table.cells["kind"] == "measured"]
    return cells[cells["mean"].notna()]


def _setting_keys(table: Table) -> list[str]:
    """Row keys other than the label: one figure per setting (e.g. IPC and network)."""
    return [k for k in table.row_keys if k != "label"]


def _setting_title(keys: list[str], values: tuple) -> str:
    names = {"ipc": "IPC", "network": ""}
    return ", ".join(f"{names.get(k, k)} {v}".strip() for k, v in zip(keys, values, strict=True))


def _groups(cells, keys: list[str]):
    if not keys:
        yield (), cells
        return
    for values, part in cells.groupby(keys, dropna=False, sort=True):
        yield (values if isinstance(values, tuple) else (values,)), part


def line_figures(table: Table, folder: Path) -> list[dict[str, Any]]:
    """Accuracy along the table's axis (e.g. continual steps 1…T), one line per strategy."""
    plt = _pyplot()
    cells = _measured(table)
    cells = cells[cells["axis"].notna()]
    keys = _setting_keys(table)
    figures = []
    for values, part in _groups(cells, keys):
        fig, ax = plt.subplots(figsize=(6, 4))
        for label, line in part.groupby("label", sort=False):
            line = line.sort_values("axis")
            ax.errorbar(line["axis"], line["mean"], yerr=line["std"], marker="o", capsize=3, label=label)
        ticks = sorted(part["axis"].unique())
        ax.set_xticks(ticks)
        ax.set_xticklabels([f"{t:g}" for t in ticks])
        ax.set_xlabel(table.axis_label or "column")
        ax.set_ylabel("test accuracy (%)")
        title = f"{table.suite}: {table.dataset}, {_setting_title(keys, values)} ({table.profile})"
        ax.set_title(title)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
        figures.append(_save(fig, folder, _slug(table.suite, table.dataset, table.profile, *values), title))
    return figures


def _grouped_bars(part, groups: list[str], title: str, ylabel: str, rotate: bool):
    plt = _pyplot()
    labels = list(dict.fromkeys(part["label"]))
    fig, ax = plt.subplots(figsize=(max(6, 0.6 * len(groups) * max(1, len(labels)) / 2), 4))
    width = 0.8 / max(1, len(labels))
    x = np.arange(len(groups))
    for i, label in enumerate(labels):
        sub = part[part["label"] == label].set_index("column")
        means = [sub["mean"].get(g, np.nan) for g in groups]
        stds = [sub["std"].get(g, np.nan) for g in groups]
        ax.bar(x + (i - (len(labels) - 1) / 2) * width, means, width, yerr=stds, capsize=2, label=label)
    ax.set_xticks(x)
    ax.set_xticklabels(groups, rotation=60 if rotate else 0, ha="right" if rotate else "center")
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.grid(axis="y", alpha=0.3)
    ax.legend(fontsize=8)
    return fig


def bar_figures(table: Table, folder: Path) -> list[dict[str, Any]]:
    """The columns (e.g. networks, corruptions) as groups of bars, one bar per strategy."""
    cells = _measured(table)
    keys = _setting_keys(table)
    figures = []
    for values, part in _groups(cells, keys):
        groups = [c for c in table.columns if c in set(part["column"])]
        title = f"{table.suite}: {table.dataset}, {_setting_title(keys, values)} ({table.profile})"
        fig = _grouped_bars(part, groups, title, "test accuracy (%)", rotate=len(groups) > 6)
        figures.append(_save(fig, folder, _slug(table.suite, table.dataset, table.profile, *values), title))
    return figures


def storage_figures(table: Table, folder: Path) -> list[dict[str, Any]]:
    """Accuracy against storage per network; upper bounds as a dashed line."""
    plt = _pyplot()
    cells = _measured(table)
    cells = cells[cells["storage"].notna()]
    figures = []
    for network, part in cells.groupby("network", dropna=False, sort=True):
        if part.empty:
            continue
        fig, ax = plt.subplots(figsize=(6, 4))
        for label, line in part.groupby("label", sort=False):
            line = line.sort_values("storage")
            if line["role"].iloc[0] == "upper_bound":
                ax.axhline(line["mean"].max(), linestyle="--", color="gray", label=f"{label} (unbudgeted)")
                continue
            ax.errorbar(line["storage"], line["mean"], yerr=line["std"], marker="o", capsize=3, label=label)
        ax.set_xscale("log")
        ax.set_xlabel("storage (float32 equivalents)")
        ax.set_ylabel("test accuracy (%)")
        title = f"Accuracy against storage: {table.dataset}, {network} ({table.profile})"
        ax.set_title(title)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
        figures.append(_save(fig, folder, _slug("storage", table.dataset, table.profile, network), title))
    return figures


FIGURES = {"lines": line_figures, "bars": bar_figures, "storage": storage_figures}


def table_figures(tables: list[Table], folder: Path) -> list[dict[str, Any]]:
    figures = []
    for table in tables:
        maker = FIGURES.get(table.figure)
        if maker is not None and not _measured(table).empty:
            where = {"dataset": table.dataset, "suite": table.suite, "profile": table.profile}
            figures += [figure | where for figure in maker(table, folder)]
    return figures


# ---- buffer galleries ----------------------------------------------------------------------------


def buffer_grids(records, store, folder: Path) -> tuple[list[dict[str, Any]], list[str]]:
    """A gallery of every buffer the records name: one per strategy spec, IPC and (continual) step,
    every image (at most MAX_COLUMNS a row), the dataset's preprocessing undone, class names on the
    left, one shared [0, 1] scale."""
    from benchmark.results.frame import frame_labels, records_frame

    labels = frame_labels(records_frame(records)) if records else {}
    seen, figures, notes = set(), [], []
    for record in records:
        name, key = record.config.get("strategy"), record.buffer
        if not key or not name or (name, key) in seen:
            continue
        seen.add((name, key))
        if record.role == "upper_bound":
            continue  # e.g. the full training set, not a buffer of images
        path = store.buffer_path(name, key)
        if not path.is_file():
            notes.append(f"buffer {name}/{key} is not in the store; no gallery")
            continue
        label = labels.get(record.config.get("spec"), name)
        try:
            figures.append(_gallery(path, label, key, record.config, folder, store.cache_root))
        except Exception as error:  # a missing decoder or ZCA cache must not stop the report
            notes.append(f"buffer {name}/{key}: no gallery ({type(error).__name__}: {error})")
    return figures, notes


def _gallery(path: Path, label: str, key: str, config: dict[str, Any], folder: Path, cache_root: Path):
    from benchmark.buffer import Buffer
    from benchmark.export import class_names

    plt = _pyplot()
    buffer = Buffer.load(path)
    images, labels = buffer.pixels(cache_root)
    names = class_names(buffer)
    classes = list(dict.fromkeys(labels.tolist()))
    per_class = {c: images[labels == c] for c in classes}
    columns = min(MAX_COLUMNS, max(len(p) for p in per_class.values()))
    blocks = {c: -(-len(per_class[c]) // columns) for c in classes}
    rows = sum(blocks.values())
    fig, axes = plt.subplots(rows, columns, figsize=(columns * 0.55 + 1.4, rows * 0.55 + 0.6), squeeze=False)
    row = 0
    for c in classes:
        for i in range(blocks[c] * columns):
            ax = axes[row + i // columns][i % columns]
            ax.set_xticks([])
            ax.set_yticks([])
            if i < len(per_class[c]):
                ax.imshow(_displayable(per_class[c][i].numpy()), cmap="gray", vmin=0, vmax=1)
            else:
                ax.axis("off")
        axes[row][0].set_ylabel(names.get(c, str(c)), rotation=0, ha="right", va="center", fontsize=7)
        row += blocks[c]
    step = config.get("step")
    where = f", step {int(step) + 1}" if step is not None else ""
    title = f"{label} · {config.get('dataset')} · IPC {config.get('ipc')}{where} · {len(images)} images"
    fig.suptitle(title, fontsize=8, y=1.0)
    figure = _save(fig, folder / "buffers", _slug("buffer", label, config.get("dataset"), key[:16]), title)
    return figure | {k: config.get(k) for k in ("dataset", "suite", "profile")}


def _displayable(image: np.ndarray) -> np.ndarray:
    """(C, H, W) in [0, 1] → (H, W[, 3]) for imshow."""
    if image.shape[0] == 1:
        return image[0]
    return np.transpose(image[:3], (1, 2, 0))
