"""Pictures of a SPEED buffer: the synthetic images per class (paper Fig. V) and which patches of
each image hold non-zero codes (Fig. III: the storage used per patch, summed over heads)."""

from __future__ import annotations

from pathlib import Path

import torch

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
    tiles: torch.Tensor, classes: list[int], per_class: int, path: Path, cmap: str | None
) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    columns = min(per_class, MAX_COLUMNS)
    fig, axes = plt.subplots(
        len(classes), columns, figsize=(columns * 0.8 + 0.6, len(classes) * 0.8 + 0.2), squeeze=False
    )
    for row, c in enumerate(classes):
        for col in range(columns):
            axis = axes[row][col]
            tile = tiles[row * per_class + col]
            axis.imshow(tile.numpy(), cmap=cmap, interpolation="nearest")
            axis.set_xticks([])
            axis.set_yticks([])
        axes[row][0].set_ylabel(str(c), rotation=0, labelpad=12)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def save_speed_pictures(
    buffer: Buffer, folder: str | Path, cache_root: str | Path | None = None
) -> list[Path]:
    """Write ``speed_images.png`` (the images with the dataset's preprocessing undone; a ZCA buffer
    reads its transform from ``cache_root``) and ``speed_patch_usage.png``; returns the paths."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    images, _ = buffer.pixels(cache_root)
    classes = list(buffer.manifest["classes"])
    per_class = int(buffer.manifest["images_per_class"])
    tiles = images.permute(0, 2, 3, 1)
    if tiles.shape[-1] == 1:
        tiles = tiles[..., 0]
    image_path, usage_path = folder / "speed_images.png", folder / "speed_patch_usage.png"
    _grid_figure(tiles, classes, per_class, image_path, cmap="gray" if images.shape[1] == 1 else None)
    _grid_figure(patch_usage(buffer).float(), classes, per_class, usage_path, cmap="viridis")
    return [image_path, usage_path]
