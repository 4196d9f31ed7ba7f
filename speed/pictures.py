"""Pictures of a SPEED buffer: the synthetic images per class (paper Fig. V) and which patches of
each image hold non-zero codes (Fig. III: the storage used per patch, summed over heads)."""

from __future__ import annotations

import io
from pathlib import Path

import torch

from benchmark.atomic import atomic_write_bytes
from benchmark.buffer import Buffer

MAX_COLUMNS = 20


def patch_usage(buffer: Buffer) -> torch.Tensor:
    """(N, rows, cols): how many stored non-zeros fall in each patch of each image (all heads)."""
    channels, height, width = buffer.manifest["image_shape"]
    patch = buffer.manifest["patch"]
    rows_, cols_ = height // patch, width // patch
    indices = buffer.tensors["coo_rows"].long()  # (N, H, k) patch index j
    n = indices.shape[0]
    counts = torch.zeros(n, rows_ * cols_, dtype=torch.long)
    counts.scatter_add_(1, indices.reshape(n, -1), torch.ones_like(indices.reshape(n, -1)))
    return counts.reshape(n, rows_, cols_)


def _grid_figure(
    tiles: torch.Tensor, names: list[str], per_class: int, path: Path, cmap: str | None, label: str | None
) -> None:
    """Every tile, one block of rows per class (at most MAX_COLUMNS a row), class names on the left,
    one shared colour scale (``label``: a colorbar with that title) instead of per-tile scaling."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plt.rcParams["svg.fonttype"] = "none"
    columns = min(per_class, MAX_COLUMNS)
    rows_per_class = -(-per_class // columns)
    low, high = float(tiles.min()), float(tiles.max())
    if label is None:
        low, high = 0.0, 1.0  # pixels in [0, 1]
    fig, axes = plt.subplots(
        len(names) * rows_per_class, columns, squeeze=False,
        figsize=(columns * 0.7 + 1.6, len(names) * rows_per_class * 0.7 + 0.4),
    )  # fmt: skip
    shown = None
    for c, name in enumerate(names):
        for i in range(rows_per_class * columns):
            axis = axes[c * rows_per_class + i // columns][i % columns]
            axis.set_xticks([])
            axis.set_yticks([])
            if i < per_class:
                tile = tiles[c * per_class + i].numpy()
                shown = axis.imshow(tile, cmap=cmap, vmin=low, vmax=high, interpolation="nearest")
            else:
                axis.axis("off")
        axes[c * rows_per_class][0].set_ylabel(name, rotation=0, ha="right", va="center", fontsize=8)
    if label is not None and shown is not None:
        fig.colorbar(shown, ax=axes.ravel().tolist(), shrink=0.6, label=label)
    data = io.BytesIO()
    fig.savefig(data, format="png", dpi=100, bbox_inches="tight")
    plt.close(fig)
    atomic_write_bytes(path, data.getvalue())  # a kill or a full disk leaves no half picture


def save_speed_pictures(
    buffer: Buffer, folder: str | Path, cache_root: str | Path | None = None
) -> list[Path]:
    """Write ``speed_images.png`` (every image, the dataset's preprocessing undone: a ZCA buffer reads
    its transform from ``cache_root``) and ``speed_patch_usage.png`` (non-zero codes per patch, one
    colour scale with a colorbar); returns the paths. A folder that cannot be written is one line
    before any work."""
    from benchmark.export import pixels_for_people
    from benchmark.results.store import prepare_output_dir

    folder = prepare_output_dir(folder)
    images, _, names = pixels_for_people(buffer, cache_root)
    names = list(names.values())
    per_class = int(buffer.manifest["images_per_class"])
    tiles = images.permute(0, 2, 3, 1)
    if tiles.shape[-1] == 1:
        tiles = tiles[..., 0]
    image_path, usage_path = folder / "speed_images.png", folder / "speed_patch_usage.png"
    _grid_figure(tiles, names, per_class, image_path, "gray" if images.shape[1] == 1 else None, None)
    usage = patch_usage(buffer).float()
    _grid_figure(usage, names, per_class, usage_path, "viridis", "non-zero codes per patch (all heads)")
    return [image_path, usage_path]


class PicturesCommand:
    """``python -m benchmark pictures BUFFER --output-dir DIR``."""

    help = "SPEED buffer pictures: every image (preprocessing undone) and its codes per patch"
    interrupted = "interrupted; pictures already written are complete, the others were not written"

    def add_arguments(self, parser) -> None:
        from benchmark.paths import path_argument

        parser.add_argument("buffer", type=Path, help="a SPEED buffer (.safetensors)")
        parser.add_argument("--output-dir", type=path_argument, required=True, help="folder for the two PNGs")
        parser.add_argument(
            "--results", type=Path, default=None, help="results folder of a ZCA buffer's cache"
        )

    def run(self, args) -> int:
        from benchmark.errors import UserInputError
        from benchmark.export import results_root_of

        buffer = Buffer.load(args.buffer)
        if buffer.kind != "speed":
            raise UserInputError(f"{args.buffer} is a {buffer.kind!r} buffer; pictures draws SPEED buffers")
        paths = save_speed_pictures(buffer, args.output_dir, args.results or results_root_of(args.buffer))
        print("\n".join(str(p) for p in paths))
        return 0


PICTURES = PicturesCommand()
