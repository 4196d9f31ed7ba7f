"""An outside dataset in one file: three classes of 8×8 grey blobs, each class its own corner."""

import torch

from benchmark.data.build import build_classdata
from benchmark.registries import DATASETS


def load_blobs(options):
    rng = torch.Generator().manual_seed(0)
    images, labels = [], []
    for c, (row, col) in enumerate([(0, 0), (0, 4), (4, 0)]):
        x = 0.1 * torch.rand(60, 1, 8, 8, generator=rng)
        x[:, :, row : row + 4, col : col + 4] += 0.8
        images.append(x)
        labels.append(torch.full((60,), c))
    images, labels = torch.cat(images), torch.cat(labels)
    test = torch.arange(len(labels)) % 5 == 0
    return build_classdata(
        "blobs", ["top-left", "top-right", "bottom-left"], images[~test], labels[~test], images[test],
        labels[test], options,
    )  # fmt: skip


DATASETS.register("blobs", load_blobs, description="three classes of 8×8 blobs", shape=(1, 8, 8), classes=3)
