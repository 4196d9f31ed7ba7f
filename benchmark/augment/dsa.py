"""DSA: the augmentation families and ranges of docs/protocol.md §0, differentiable w.r.t. the images.

A DSA is given its families as one setting, names joined by ``_`` (``color_crop_cutout_flip_scale_rotate``;
the DC/DSA code calls it a "strategy"). Each call draws one family uniformly ("color" = brightness,
saturation and contrast in turn). A draw holds the family's random parameters either per sample (network
training) or once for the whole batch (Siamese matching: the same draw is applied to the real and
the synthetic batch, whatever their sizes).

Written here rather than taken from kornia because the ranges and semantics must be the
references' exactly (e.g. integer crop shifts with zero padding, cutout of half the side,
saturation around the per-pixel channel mean); kornia's augmentations parameterise these
differently.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from benchmark.errors import UserInputError

FAMILIES = ("color", "crop", "cutout", "flip", "scale", "rotate")
DEFAULT_FAMILIES = "color_crop_cutout_flip_scale_rotate"
NO_FLIP_FAMILIES = "color_crop_cutout_scale_rotate"

FLIP_PROBABILITY = 0.5
SCALE_RATIO = 1.2
ROTATE_DEGREES = 15.0
CROP_PAD_RATIO = 0.125
CUTOUT_RATIO = 0.5
BRIGHTNESS = 1.0
SATURATION = 2.0
CONTRAST = 0.5


@dataclass
class AugmentationDraw:
    """One family and its random numbers; leading dim = batch size, or 1 when shared (Siamese)."""

    family: str
    values: dict[str, torch.Tensor]


def check_setting(value: str) -> None:
    """A DSA spec key's value: ``auto`` (the dataset's families), ``none``, or families joined by '_'."""
    if value not in ("auto", "none"):
        parse_families(value)


def parse_families(setting: str) -> tuple[str, ...]:
    """``color_crop`` → ("color", "crop"); an unknown or missing family is a one-line error."""
    families = tuple(f for f in setting.split("_") if f)
    unknown = [f for f in families if f not in FAMILIES]
    if unknown or not families:
        raise UserInputError(
            f"unknown DSA family {unknown or setting!r}; use families from {', '.join(FAMILIES)} "
            f"joined by '_', e.g. {DEFAULT_FAMILIES!r}"
        )
    return families


class DSA:
    """Draw and apply DSA augmentations."""

    def __init__(self, families: str = DEFAULT_FAMILIES):
        self.families = parse_families(families)

    # ---- drawing -------------------------------------------------------------------------
    def draw(
        self, batch: int, image_size: int, generator: torch.Generator, shared: bool = False
    ) -> AugmentationDraw:
        """Choose a family and its parameters; ``shared`` gives one draw for the whole batch."""
        index = int(torch.randint(len(self.families), (1,), generator=generator))
        family = self.families[index]
        n = 1 if shared else batch

        def uniform(*shape: int) -> torch.Tensor:
            return torch.rand(n, *shape, generator=generator)

        if family == "color":
            values = {"brightness": uniform(), "saturation": uniform(), "contrast": uniform()}
        elif family == "flip":
            values = {"flip": uniform() < FLIP_PROBABILITY}
        elif family == "scale":
            values = {"sx": uniform(), "sy": uniform()}
        elif family == "rotate":
            values = {"angle": uniform()}
        elif family == "crop":
            shift = int(image_size * CROP_PAD_RATIO + 0.5)
            values = {
                "tx": torch.randint(-shift, shift + 1, (n,), generator=generator),
                "ty": torch.randint(-shift, shift + 1, (n,), generator=generator),
            }
        else:  # cutout
            size = int(image_size * CUTOUT_RATIO + 0.5)
            high = image_size + (1 - size % 2)
            values = {
                "cx": torch.randint(0, high, (n,), generator=generator),
                "cy": torch.randint(0, high, (n,), generator=generator),
            }
        return AugmentationDraw(family, values)

    # ---- applying ------------------------------------------------------------------------
    def apply(self, x: torch.Tensor, draw: AugmentationDraw) -> torch.Tensor:
        v = {k: t.to(x.device) for k, t in draw.values.items()}
        n = x.shape[0]
        if draw.family == "color":
            x = x + (_col(v["brightness"], n, x) - 0.5) * BRIGHTNESS
            channel_mean = x.mean(dim=1, keepdim=True)
            x = (x - channel_mean) * (_col(v["saturation"], n, x) * SATURATION) + channel_mean
            image_mean = x.mean(dim=(1, 2, 3), keepdim=True)
            return (x - image_mean) * (_col(v["contrast"], n, x) + CONTRAST) + image_mean
        if draw.family == "flip":
            return torch.where(_col(v["flip"], n, x), x.flip(3), x)
        if draw.family in ("scale", "rotate"):
            return _affine(x, _theta(draw.family, v, n, x.dtype))
        if draw.family == "crop":
            return _translate(x, v["tx"].expand(n), v["ty"].expand(n))
        return _cutout(x, v["cx"].expand(n), v["cy"].expand(n))

    def __call__(self, x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        """Per-sample augmentation (network training): each image its own parameters."""
        return self.apply(x, self.draw(x.shape[0], x.shape[-1], generator, shared=False))

    def siamese(self, batches: list[torch.Tensor], generator: torch.Generator) -> list[torch.Tensor]:
        """One draw shared by every image of every batch (matching real against synthetic)."""
        draw = self.draw(1, batches[0].shape[-1], generator, shared=True)
        return [self.apply(b, draw) for b in batches]


def _col(values: torch.Tensor, n: int, like: torch.Tensor) -> torch.Tensor:
    """(n or 1,) values → shape (n, 1, 1, 1), broadcastable against images."""
    return (
        values.reshape(-1, 1, 1, 1)
        .expand(n, 1, 1, 1)
        .to(like.dtype if values.dtype.is_floating_point else values.dtype)
    )


def _theta(family: str, v: dict[str, torch.Tensor], n: int, dtype: torch.dtype) -> torch.Tensor:
    if family == "scale":
        low = 1.0 / SCALE_RATIO
        sx = v["sx"].flatten() * (SCALE_RATIO - low) + low
        sy = v["sy"].flatten() * (SCALE_RATIO - low) + low
        zero = torch.zeros_like(sx)
        theta = torch.stack([torch.stack([sx, zero, zero], 1), torch.stack([zero, sy, zero], 1)], 1)
    else:
        angle = (v["angle"].flatten() - 0.5) * 2 * ROTATE_DEGREES / 180 * math.pi
        cos, sin, zero = torch.cos(angle), torch.sin(angle), torch.zeros_like(angle)
        theta = torch.stack([torch.stack([cos, sin, zero], 1), torch.stack([-sin, cos, zero], 1)], 1)
    return theta.to(dtype).expand(n, 2, 3)


def _affine(x: torch.Tensor, theta: torch.Tensor) -> torch.Tensor:
    grid = F.affine_grid(theta, list(x.shape), align_corners=True)
    return F.grid_sample(x, grid, align_corners=True)


def _translate(x: torch.Tensor, tx: torch.Tensor, ty: torch.Tensor) -> torch.Tensor:
    """Shift each image by whole pixels; vacated pixels become 0."""
    n, _, h, w = x.shape
    pad = int(max(tx.abs().max(), ty.abs().max()))
    padded = F.pad(x, (pad, pad, pad, pad))
    rows = torch.arange(h, device=x.device)[None, :] + pad + ty[:, None]  # (n, h)
    cols = torch.arange(w, device=x.device)[None, :] + pad + tx[:, None]  # (n, w)
    batch = torch.arange(n, device=x.device)[:, None, None]
    return padded[batch, :, rows[:, :, None], cols[:, None, :]].permute(0, 3, 1, 2)


def _cutout(x: torch.Tensor, cx: torch.Tensor, cy: torch.Tensor) -> torch.Tensor:
    """Zero a square of half the image side centred at (cx, cy), clipped to the image."""
    n, _, h, w = x.shape
    size = int(h * CUTOUT_RATIO + 0.5)
    rows = torch.arange(h, device=x.device)[None, :] - (cy[:, None] - size // 2)
    cols = torch.arange(w, device=x.device)[None, :] - (cx[:, None] - size // 2)
    inside_rows = (rows >= 0) & (rows < size)
    inside_cols = (cols >= 0) & (cols < size)
    mask = ~(inside_rows[:, :, None] & inside_cols[:, None, :])
    return x * mask[:, None].to(x.dtype)
