"""An outside network in one file: a one-hidden-layer MLP with an ``embed`` for distribution matching."""

import torch.nn as nn

from benchmark.registries import NETWORKS


class TinyMLP(nn.Module):
    def __init__(self, channels: int, image_size: int, num_classes: int, width: int = 16):
        super().__init__()
        self.features = nn.Sequential(nn.Flatten(), nn.Linear(channels * image_size**2, width), nn.ReLU())
        self.classifier = nn.Linear(width, num_classes)

    def embed(self, x):
        return self.features(x)

    def forward(self, x):
        return self.classifier(self.embed(x))


NETWORKS.register("TinyMLP", TinyMLP, description="a one-hidden-layer MLP")
