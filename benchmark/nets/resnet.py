"""ResNet-18 of the dataset-distillation literature (docs/protocol.md §1).

BasicBlock [2, 2, 2, 2], widths 64/128/256/512, 3×3 stem with stride 1 and no max-pool, bias-free
convolutions, instance norm (GroupNorm(c, c), affine) by default, 1×1 conv + norm shortcuts,
global average pooling, Linear(512 → classes). ``ResNet18_AP`` downsamples with a stride-1
convolution followed by AvgPool2d(2) instead of a stride-2 convolution.
"""

from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

from benchmark.errors import UserInputError
from benchmark.nets.layers import norm_layer


class BasicBlock(nn.Module):
    """Two 3×3 convolutions with a residual connection; ``avgpool`` selects the _AP downsampling."""

    def __init__(self, in_planes: int, planes: int, stride: int, norm: str, size: int, avgpool: bool):
        super().__init__()
        # A stride-2 conv (padding 1) rounds odd sizes up; AvgPool2d(2) rounds them down.
        out_size = size // stride if avgpool else -(-size // stride)
        self.out_size = out_size
        conv_stride = 1 if avgpool else stride
        self.conv1 = nn.Conv2d(in_planes, planes, 3, stride=conv_stride, padding=1, bias=False)
        self.norm1 = norm_layer(norm, planes, size if avgpool else out_size)
        self.pool = nn.AvgPool2d(2) if (avgpool and stride != 1) else nn.Identity()
        self.conv2 = nn.Conv2d(planes, planes, 3, padding=1, bias=False)
        self.norm2 = norm_layer(norm, planes, out_size)
        self.shortcut: nn.Module = nn.Identity()
        if stride != 1 or in_planes != planes:
            if avgpool:
                self.shortcut = nn.Sequential(
                    nn.Conv2d(in_planes, planes, 1, bias=False),
                    nn.AvgPool2d(2) if stride != 1 else nn.Identity(),
                    norm_layer(norm, planes, out_size),
                )
            else:
                self.shortcut = nn.Sequential(
                    nn.Conv2d(in_planes, planes, 1, stride=stride, bias=False),
                    norm_layer(norm, planes, out_size),
                )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.pool(F.relu(self.norm1(self.conv1(x))))
        out = self.norm2(self.conv2(out))
        return F.relu(out + self.shortcut(x))


class ResNet18(nn.Module):
    """ResNet-18 with ``embed`` (the 512 pooled features) and a linear classifier."""

    def __init__(
        self,
        channels: int,
        image_size: int,
        num_classes: int,
        norm: str = "instancenorm",
        avgpool: bool = False,
        widths: tuple[int, ...] = (64, 128, 256, 512),
    ):
        super().__init__()
        size = image_size
        self.stem = nn.Sequential(
            nn.Conv2d(channels, widths[0], 3, padding=1, bias=False),
            norm_layer(norm, widths[0], size),
            nn.ReLU(),
        )
        blocks: list[nn.Module] = []
        in_planes = widths[0]
        for stage, planes in enumerate(widths):
            for b in range(2):
                stride = 2 if (stage > 0 and b == 0) else 1
                if avgpool and stride == 2 and size < 2:
                    raise UserInputError(
                        f"ResNet18_AP cannot halve a {size} px feature map (image {image_size} px)"
                    )
                blocks.append(BasicBlock(in_planes, planes, stride, norm, size, avgpool))
                size = blocks[-1].out_size
                in_planes = planes
        self.layers = nn.Sequential(*blocks)
        self.embedding_dim = in_planes
        self.classifier = nn.Linear(in_planes, num_classes)

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        return F.adaptive_avg_pool2d(self.layers(self.stem(x)), 1).flatten(1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.embed(x))


def resnet18(channels: int, image_size: int, num_classes: int, **options) -> ResNet18:
    """ResNet-18, instance norm (GroupNorm(c, c))."""
    return ResNet18(channels, image_size, num_classes, **options)


def resnet18_bn(channels: int, image_size: int, num_classes: int, **options) -> ResNet18:
    """ResNet-18, batch norm."""
    return ResNet18(channels, image_size, num_classes, **{"norm": "batchnorm", **options})


def resnet18_ap(channels: int, image_size: int, num_classes: int, **options) -> ResNet18:
    """ResNet-18 with stride-1 convolutions + AvgPool2d(2) in place of stride-2 convolutions."""
    return ResNet18(channels, image_size, num_classes, **{"avgpool": True, **options})
