"""Figures (matplotlib, Agg; PNG and SVG) for the leaderboard, made only where records exist, of the
kind each suite's table declares: ``lines`` along an axis (continual steps, paper Fig. 2), ``bars``
over the columns (corruptions, Fig. 3; networks), ``storage`` (accuracy against storage); and a grid
of each referenced buffer's synthetic images (one PNG per buffer, tiled with numpy and labelled with
PIL: a row per class, named on the left; ``torchvision.utils.make_grid`` would do the tiling but
importing torchvision costs seconds, most of the leaderboard's time). A figure's title is its
caption on the page, not drawn in it."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import numpy as np

from benchmark.atomic import atomic_write_bytes
from benchmark.paths import inside, safe_name
from benchmark.report.tables import Table
from benchmark.results.frame import missing

MAX_COLUMNS = 20  # images per gallery row; a class with more wraps to further rows
GALLERY_SCALE = 2  # pixels per image pixel in a gallery (nearest neighbour), so class names stay legible
DODGE = 0.025  # share of the x range between points that sit at the same storage


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plt.rcParams["svg.fonttype"] = "none"  # SVG text stays text: editable, searchable
    return plt


def _slug(*parts: Any) -> str:
    return safe_name("_".join(str(p) for p in parts if not missing(p) and str(p) != ""), "figure")


def _save(fig, folder: Path, name: str, title: str) -> dict[str, Any]:
    plt = _pyplot()
    png, svg = inside(folder, f"{name}.png"), inside(folder, f"{name}.svg")
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


def _dodged(part, log: bool) -> dict[int, float]:
    """Cell index → x position: points at the same storage are spread sideways around it, so that no
    marker hides another (the caption says so)."""
    storage = part["storage"].astype(float)
    t = np.log10(storage) if log else storage
    span = float(t.max() - t.min()) or (0.1 if log else 0.1 * float(abs(t.max())) or 1.0)
    positions = {}
    for _, same in part.groupby(storage.round(6), sort=False):
        for j, index in enumerate(same.index):
            shifted = t[index] + DODGE * span * (j - (len(same) - 1) / 2)
            positions[index] = 10**shifted if log else shifted
    return positions


def _plain_ticks(axis, log: bool) -> None:
    from matplotlib.ticker import FuncFormatter, MaxNLocator, NullFormatter

    plain = FuncFormatter(lambda value, _: f"{value:,.0f}" if abs(value) >= 10 else f"{value:g}")
    if not log:
        axis.set_major_locator(MaxNLocator(5))
    axis.set_major_formatter(plain)
    axis.set_minor_formatter(NullFormatter())


def storage_figures(table: Table, folder: Path) -> list[dict[str, Any]]:
    """Accuracy against storage per network (log x where storage spans more than a decade); upper
    bounds as a dashed line."""
    plt = _pyplot()
    cells = _measured(table)
    cells = cells[cells["storage"].notna()]
    figures = []
    markers = "osD^vP*Xh<>"
    for network, part in cells.groupby("network", dropna=False, sort=True):
        if part.empty:
            continue
        fig, ax = plt.subplots(figsize=(7, 4.2))
        ranked = part[part["role"] != "upper_bound"]
        log = not ranked.empty and ranked["storage"].max() > 10 * ranked["storage"].min()
        x = _dodged(ranked, log) if not ranked.empty else {}
        for i, (label, line) in enumerate(part.groupby("label", sort=False)):
            line = line.sort_values("storage")
            if line["role"].iloc[0] == "upper_bound":
                ax.axhline(line["mean"].max(), linestyle="--", color="gray", label=f"{label} (unbudgeted)")
                continue
            xs = [x[index] for index in line.index]
            ax.errorbar(xs, line["mean"], yerr=line["std"], marker=markers[i % len(markers)], capsize=3,
                        label=label, markersize=6)  # fmt: skip
        if log:
            ax.set_xscale("log")
        ax.margins(x=0.12, y=0.08)
        _plain_ticks(ax.xaxis, log)
        ax.set_xlabel("storage (float32 equivalents; equal storage spread sideways)")
        ax.set_ylabel("test accuracy (%)")
        title = f"Accuracy against storage: {table.dataset}, {network} ({table.profile})"
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8, loc="best")
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
    """A gallery of every buffer the records name, ordered by strategy, IPC, step and seed: every
    image (at most MAX_COLUMNS a row), the dataset's preprocessing undone, class names on the left."""
    from benchmark.results.frame import frame_labels, records_frame

    labels = frame_labels(records_frame(records)) if records else {}

    def order(record) -> tuple:
        c = record.config
        step = c.get("step")
        return (labels.get(c.get("spec"), ""), c.get("dataset") or "", c.get("ipc") or 0,
                -1 if step is None else step, c.get("distill_seed") or 0, record.buffer or "")  # fmt: skip

    seen, figures, notes = set(), [], []
    for record in sorted(records, key=order):
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
    from PIL import Image, ImageDraw, ImageFont

    from benchmark.buffer import Buffer
    from benchmark.export import class_names

    buffer = Buffer.load(path)
    images, labels = buffer.pixels(cache_root)
    names = class_names(buffer)
    classes = list(dict.fromkeys(labels.tolist()))
    per_class = {c: images[labels == c] for c in classes}
    columns = min(MAX_COLUMNS, max(len(p) for p in per_class.values()))
    tiles, row_names = [], []
    for c in classes:
        block = per_class[c].numpy()
        rows = -(-len(block) // columns)
        tiles.append(np.concatenate([block, np.ones((rows * columns - len(block), *block.shape[1:]))]))
        row_names += [names.get(c, str(c))] + [""] * (rows - 1)
    padding = 2
    grid = _tile(np.concatenate(tiles), columns, padding)
    gray = images.shape[1] == 1
    picture = Image.fromarray(grid[..., 0] if gray else grid)
    picture = picture.resize((picture.width * GALLERY_SCALE, picture.height * GALLERY_SCALE), Image.NEAREST)
    font = ImageFont.load_default(size=9 * GALLERY_SCALE)
    measure = ImageDraw.Draw(picture)
    margin = int(max(measure.textlength(n, font=font) for n in row_names)) + 6 * GALLERY_SCALE
    canvas = Image.new(picture.mode, (picture.width + margin, picture.height), 255 if gray else (255,) * 3)
    canvas.paste(picture, (margin, 0))
    draw = ImageDraw.Draw(canvas)
    row_height = (images.shape[2] + padding) * GALLERY_SCALE
    for i, name in enumerate(row_names):
        middle = (padding * GALLERY_SCALE) // 2 + i * row_height + row_height // 2
        ink = 0 if gray else (0, 0, 0)
        draw.text((margin - 4 * GALLERY_SCALE, middle), name, fill=ink, font=font, anchor="rm")
    png = inside(folder / "buffers", f"{_slug('buffer', label, config.get('dataset'), key[:16])}.png")
    data = io.BytesIO()
    canvas.save(data, format="PNG", optimize=True)
    atomic_write_bytes(png, data.getvalue())
    step = config.get("step")
    where = f", step {int(step) + 1}" if step is not None else ""
    seed = f" · seed {config['distill_seed']}" if config.get("distill_seed") is not None else ""
    title = f"{label} · {config.get('dataset')} · IPC {config.get('ipc')}{where}{seed} · {len(images)} images"
    where = {k: config.get(k) for k in ("dataset", "suite", "profile", "ipc")}
    return {"title": title, "png": str(png), "label": label, "width": canvas.width} | where


def _tile(images: np.ndarray, columns: int, padding: int) -> np.ndarray:
    """(N, C, H, W) in [0, 1], N a multiple of ``columns`` → one (rows·(H+p)+p, columns·(W+p)+p, 3)
    uint8 picture, white between the images (one channel repeated, more than three cut to three)."""
    count, channels, height, width = images.shape
    images = np.repeat(images, 3, axis=1) if channels == 1 else images[:, :3]
    rows = count // columns
    grid = np.ones((rows * (height + padding) + padding, columns * (width + padding) + padding, 3))
    for i, image in enumerate(images):
        top, left = padding + (i // columns) * (height + padding), padding + (i % columns) * (width + padding)
        grid[top : top + height, left : left + width] = np.transpose(image, (1, 2, 0))
    return np.round(grid * 255).astype(np.uint8)
