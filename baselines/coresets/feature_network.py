"""The feature network the coreset selectors share (docs/protocol.md §8, decisions 6 and 13).

A ConvNet trained on the training split of the classes a strategy is given (``data.classes``
only; its output layer keeps all ``data.num_classes`` outputs, labels are global ids), optionally
on a seeded subset of ``subset`` images per class (0 = all of them). Training is plain SGD
(lr 0.01 by default, momentum 0.9, weight decay 5e-4, batch 256, constant lr, no augmentation, no
per-batch standardisation), shuffled with a seeded generator. Each sample's correctness in the
forward pass of its minibatch is recorded every epoch, which is what forgetting events count.

The trained weights are cached as safetensors under ``<cache_root>/cache/feature_network/`` keyed
by everything that changes them (dataset, preprocessing, split and a fingerprint of its tensors,
classes, network, width, depth, epochs, subset, seed, optimiser settings), so herding, k-center and
forgetting with the same settings and seed share one file.
"""

from __future__ import annotations

import json
import warnings
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch
import torch.nn as nn
import torch.nn.functional as F
from safetensors.torch import load as load_safetensors
from safetensors.torch import save as save_safetensors

from benchmark.atomic import atomic_write_bytes
from benchmark.cache import cache_lock, cache_path
from benchmark.data.classdata import ClassData
from benchmark.errors import BenchmarkWarning
from benchmark.nets import create_network
from benchmark.progress import progress
from benchmark.seeding import derive_seed, seeded
from benchmark.seeding import generator as make_generator
from benchmark.strategy import FitContext

NETWORK = "ConvNet"
KIND = "feature_network"


@dataclass(frozen=True)
class FeatureNetworkConfig:
    """How the feature network is trained; every field is part of its cache key."""

    width: int = 128
    depth: int = 0  # 0: by image size, so the features end at 4×4 (28/32 px: 3, 64 px: 4, 128 px: 5)
    epochs: int = 40
    subset: int = 0  # images per class to train on, seeded; 0 = the whole training split
    lr: float = 0.01
    momentum: float = 0.9
    weight_decay: float = 5e-4
    batch_size: int = 256

    @classmethod
    def from_strategy(cls, config: dict[str, Any]) -> FeatureNetworkConfig:
        """The feature-network part of a resolved strategy config (keys epochs, subset, width, depth, lr)."""
        keys = ("width", "depth", "epochs", "subset", "lr")
        return cls(**{key: config[key] for key in keys if key in config})


def resolve_depth(depth: int, image_size: int) -> int:
    """``depth`` itself, or for 0 the depth whose features end at 4×4 (28 px is padded to 32)."""
    if depth > 0:
        return depth
    size = 32 if image_size == 28 else image_size
    return max(1, size.bit_length() - 1 - 2)


def cache_content(data: ClassData, config: FeatureNetworkConfig, seed: int) -> dict[str, Any]:
    """Everything that changes the trained network (decision 13)."""
    return {
        **data.training_identity(),
        "network": NETWORK,
        **asdict(config),
        "depth": resolve_depth(config.depth, data.image_size),
        "augmentation": None,
        "seed": int(seed),
    }


def training_indices(data: ClassData, subset: int, seed: int) -> torch.Tensor:
    """Indices into ``data.train`` of the images trained on: class-major, ``subset`` per class (seeded)."""
    rng = make_generator(derive_seed(KIND, "subset", seed))
    chosen = []
    for c in data.classes:
        indices = data.train.class_indices(c).cpu()
        if subset > 0 and subset < len(indices):
            indices = indices[torch.randperm(len(indices), generator=rng)[:subset]].sort().values
        chosen.append(indices)
    return torch.cat(chosen)


def build_network(data: ClassData, config: FeatureNetworkConfig, seed: int) -> nn.Module:
    """The untrained ConvNet, initialised under a seed derived from ``seed``."""
    depth = resolve_depth(config.depth, data.image_size)
    return seeded(
        derive_seed(KIND, "init", seed),
        lambda: create_network(
            NETWORK, data.channels, data.image_size, data.num_classes, width=config.width, depth=depth
        ),
    )


def train_recording(
    net: nn.Module,
    images: torch.Tensor,
    labels: torch.Tensor,
    config: FeatureNetworkConfig,
    seed: int,
    device: torch.device | str = "cpu",
    show_progress: bool = True,
) -> torch.Tensor:
    """Train ``net`` in place; returns correctness (epochs, n): sample j right in its minibatch of epoch e.

    Correctness is read from the forward pass that computes the step's loss (as Toneva et al. do),
    so recording costs nothing and does not change the training.
    """
    net.to(device).train()
    rng = make_generator(derive_seed(KIND, "order", seed))
    optimizer = torch.optim.SGD(
        net.parameters(), lr=config.lr, momentum=config.momentum, weight_decay=config.weight_decay
    )
    n = len(labels)
    correctness = torch.zeros(config.epochs, n, dtype=torch.bool)
    for epoch in progress(range(config.epochs), desc="feature network", enabled=show_progress):
        order = torch.randperm(n, generator=rng)
        for start in range(0, n, config.batch_size):
            batch = order[start : start + config.batch_size]
            x, y = images[batch].to(device), labels[batch].to(device)
            logits = net(x)
            correctness[epoch, batch] = (logits.argmax(1) == y).cpu()
            loss = F.cross_entropy(logits, y)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
    net.eval()
    return correctness


def network_path(data: ClassData, config: FeatureNetworkConfig, seed: int, context: FitContext) -> Path:
    return cache_path(context.cache_root, KIND, cache_content(data, config, seed), "safetensors")


def train_feature_network(
    data: ClassData, config: FeatureNetworkConfig, seed: int, context: FitContext
) -> tuple[nn.Module, torch.Tensor, torch.Tensor]:
    """Train afresh and cache the weights; returns (net, correctness (epochs, n), training indices)."""
    indices = training_indices(data, config.subset, seed)
    net = build_network(data, config, seed)
    correctness = train_recording(
        net,
        data.train.images[indices.to(data.train.images.device)],
        data.train.labels[indices.to(data.train.labels.device)],
        config,
        seed,
        context.device,
        context.show_progress,
    )
    content = cache_content(data, config, seed)
    state = {name: t.detach().cpu().contiguous() for name, t in net.state_dict().items()}
    payload = save_safetensors(state, metadata={"content": json.dumps(content, sort_keys=True)})
    atomic_write_bytes(cache_path(context.cache_root, KIND, content, "safetensors"), payload)
    return net, correctness, indices


def feature_network(
    data: ClassData, config: FeatureNetworkConfig, seed: int, context: FitContext
) -> nn.Module:
    """The cached feature network for (data, config, seed), trained and cached first if missing."""
    path = network_path(data, config, seed, context)
    with cache_lock(path):  # a parallel cell needing the same network waits for it
        if path.is_file():
            net = build_network(data, config, seed)
            try:
                net.load_state_dict(load_safetensors(path.read_bytes()))
            except Exception:  # unreadable or stale file: train again and overwrite it
                warnings.warn(f"damaged cache {path} is trained again", BenchmarkWarning, stacklevel=2)
            else:
                return net.to(context.device).eval()
        net, _, _ = train_feature_network(data, config, seed, context)
        return net


@torch.no_grad()
def embed(
    net: nn.Module, images: torch.Tensor, device: torch.device | str = "cpu", batch_size: int = 512
) -> torch.Tensor:
    """``net.embed`` of ``images`` (the flattened features), in batches, on the CPU, float32."""
    net.to(device).eval()
    parts = [
        net.embed(images[start : start + batch_size].to(device)).float().cpu()
        for start in range(0, len(images), batch_size)
    ]
    return torch.cat(parts) if parts else torch.zeros(0)
