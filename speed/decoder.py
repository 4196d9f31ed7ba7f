"""The ``speed`` decoder: a stored SPEED buffer → its images, bit-identical to export time.

Images are decoded one class at a time (the same batches as ``images_of_class``), from the dense
sparsified SCMs rebuilt from COO, by a FReeNet loaded with the stored weights.
"""

from __future__ import annotations

import torch

from benchmark.seeding import seeded
from speed import coo
from speed.freenet import LEGACY, FReeNet
from speed.parameterization import FREENET_PREFIX


def build_freenet(tensors: dict[str, torch.Tensor], manifest: dict) -> FReeNet:
    """FReeNet with the stored weights; a buffer without ``layernorm_eps``/``patch_layout`` predates
    the published settings and decodes as it was made (``LEGACY``)."""
    shape = tuple(manifest["image_shape"])
    form = {key: manifest.get(key, value) for key, value in LEGACY.items()}
    net = seeded(
        0,
        lambda: FReeNet(
            manifest["dim"], manifest["heads"], manifest["depth"], manifest["patch"], shape, **form
        ),
    )
    weights = {k[len(FREENET_PREFIX) :]: v for k, v in tensors.items() if k.startswith(FREENET_PREFIX)}
    net.load_state_dict(weights, strict=True)
    return net.to(tensors["saet"].device).eval()


def decode_speed(tensors: dict[str, torch.Tensor], manifest: dict) -> torch.Tensor:
    """(N, C, H, W) float32 images, class-major."""
    net = build_freenet(tensors, manifest)
    scm = coo.decode(tensors, net.num_patches, manifest["tokens"])
    saet = tensors["saet"].float()
    n = int(manifest["images_per_class"])
    with torch.no_grad():
        return torch.cat([net(saet, scm[start : start + n]) for start in range(0, len(scm), n)])
