"""Figures (matplotlib, Agg; PNG and SVG) for the leaderboard, made only where records exist:
continual accuracy per step (paper Fig. 2), accuracy per corruption (Fig. 3), cross-architecture
accuracy, accuracy against storage, and a grid of each referenced buffer's synthetic images."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np

from benchmark.report.tables import AVERAGE_INCREMENTAL, FINAL, UNRANKED, Table, _missing

MAX_PER_CLASS = 10
MAX_CLASSES = 20


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _slug(*parts: Any) -> str:
    text = "_".join(str(p) for p in parts if not _missing(p) and str(p) != "")
    return re.sub(r"[^A-Za-z0-9_.=-]+", "-", text).strip("-")


def _save(fig, folder: Path, name: str, title: str) -> dict[str, Any]:
    plt = _pyplot()
    folder.mkdir(parents=True, exist_ok=True)
    png, svg = folder / f"{name}.png", folder / f"{name}.svg"
    fig.savefig(png, dpi=110, bbox_inches="tight")
    fig.savefig(svg, bbox_inches="tight")
    plt.close(fig)
    return {"title": title, "png": str(png), "svg": str(svg)}


def _measured(table: Table):
    cells = table.cells[table.cells["kind"] == "measured"]
    return cells[cells["mean"].notna()]


def continual_figures(table: Table, folder: Path) -> list[dict[str, Any]]:
    plt = _pyplot()
    cells = _measured(table)
    cells = cells[~cells["column"].isin([AVERAGE_INCREMENTAL, FINAL])]
    figures = []
    for (ipc, network), part in cells.groupby(["ipc", "network"], dropna=False, sort=True):
        fig, ax = plt.subplots(figsize=(6, 4))
        for label, line in part.groupby("label", sort=False):
            line = line.assign(x=line["column"].str.replace("step ", "", regex=False).astype(float))
            line = line.sort_values("x")
            ax.errorbar(line["x"], line["mean"], yerr=line["std"], marker="o", capsize=3, label=label)
        ax.set_xlabel("step")
        ax.set_ylabel("test accuracy on classes seen (%)")
        title = f"Continual: {table.dataset}, {network}, IPC {ipc} ({table.profile})"
        ax.set_title(title)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
        figures.append(
            _save(fig, folder, _slug("continual", table.dataset, table.profile, network, ipc), title)
        )
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


def corruption_figures(table: Table, folder: Path) -> list[dict[str, Any]]:
    cells = _measured(table)
    figures = []
    for (ipc, network), part in cells.groupby(["ipc", "network"], dropna=False, sort=True):
        groups = [c for c in table.columns if c in set(part["column"])]
        title = f"Corruptions: {table.dataset}, {network}, IPC {ipc} ({table.profile}), mean over severities"
        fig = _grouped_bars(part, groups, title, "test accuracy (%)", rotate=True)
        figures.append(
            _save(fig, folder, _slug("corruption", table.dataset, table.profile, network, ipc), title)
        )
    return figures


def cross_arch_figures(table: Table, folder: Path) -> list[dict[str, Any]]:
    cells = _measured(table)
    figures = []
    for ipc, part in cells.groupby("ipc", dropna=False, sort=True):
        groups = [c for c in table.columns if c in set(part["column"])]
        title = f"Cross-architecture: {table.dataset}, IPC {ipc} ({table.profile})"
        fig = _grouped_bars(part, groups, title, "test accuracy (%)", rotate=False)
        figures.append(_save(fig, folder, _slug("cross-arch", table.dataset, table.profile, ipc), title))
    return figures


def storage_figures(table: Table, folder: Path) -> list[dict[str, Any]]:
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
            if line["strategy_name"].iloc[0] in UNRANKED:
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


def table_figures(tables: list[Table], folder: Path) -> list[dict[str, Any]]:
    makers = {
        "continual": continual_figures,
        "corruption": corruption_figures,
        "cross-arch": cross_arch_figures,
        "standard": storage_figures,
    }
    figures = []
    for table in tables:
        maker = makers.get(table.suite)
        if maker is not None and not _measured(table).empty:
            figures += maker(table, folder)
    return figures


# ---- buffer image grids --------------------------------------------------------------------------


def buffer_grids(
    records: list[dict[str, Any]], store, folder: Path
) -> tuple[list[dict[str, Any]], list[str]]:
    """A grid of up to 10 images per class (min-max scaled per image) of every referenced buffer."""
    seen, figures, notes = set(), [], []
    for record in records:
        name, key = record["config"].get("strategy_name"), record.get("buffer")
        if not key or not name or (name, key) in seen:
            continue
        seen.add((name, key))
        if name in UNRANKED:
            continue  # the full training set, not synthetic images
        path = store.buffer_path(name, key)
        if not path.is_file():
            notes.append(f"buffer {name}/{key} is not in the store; no image grid")
            continue
        try:
            figures.append(_buffer_grid(path, name, key, record["config"], folder, store.root))
        except Exception as error:  # a missing decoder or dataset must not stop the report
            notes.append(f"buffer {name}/{key}: no image grid ({type(error).__name__}: {error})")
    return figures, notes


def _buffer_grid(
    path: Path, name: str, key: str, config: dict[str, Any], folder: Path, cache_root: Path
) -> dict[str, Any]:
    from benchmark.buffer import Buffer

    plt = _pyplot()
    images, labels = Buffer.load(path).pixels(cache_root)  # ZCA / mean-std undone
    classes = list(dict.fromkeys(labels.tolist()))[:MAX_CLASSES]
    per_class = [images[labels == c][:MAX_PER_CLASS] for c in classes]
    columns = max((len(p) for p in per_class), default=1)
    fig, axes = plt.subplots(
        len(classes), columns, figsize=(columns * 0.8, len(classes) * 0.8), squeeze=False
    )
    for r, part in enumerate(per_class):
        for c in range(columns):
            ax = axes[r][c]
            ax.axis("off")
            if c < len(part):
                ax.imshow(_displayable(part[c].numpy()), cmap="gray", vmin=0, vmax=1)
        axes[r][0].set_title(str(classes[r]), fontsize=6, loc="left")
    strategy = config.get("strategy", name)
    title = f"Buffer {name} ({config.get('dataset')}, IPC {config.get('ipc')}): {key[:12]}"
    fig.suptitle(f"{title}\n{strategy}"[:200], fontsize=7)
    return _save(fig, folder / "buffers", _slug("buffer", name, config.get("dataset"), key[:16]), title)


def _displayable(image: np.ndarray) -> np.ndarray:
    """(C, H, W) in [0, 1] → (H, W[, 3]) for imshow."""
    if image.shape[0] == 1:
        return image[0]
    return np.transpose(image[:3], (1, 2, 0))
