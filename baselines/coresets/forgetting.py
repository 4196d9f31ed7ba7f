"""Forgetting events (Toneva et al., ICLR 2019): keep the samples a network forgets most often.

A forgetting event is a transition of one sample from correctly to wrongly classified between
consecutive epochs (correctness read from the forward pass of its minibatch). Samples never
classified correctly during training count as the most forgotten of all (+inf), as in the paper.
The counts come from the same training run as the feature network (same recipe, same seed), so
computing them also caches that network; they are cached themselves under
``<cache_root>/cache/forgetting_counts/`` with the feature network's key content.
"""

from __future__ import annotations

import json

import torch
from safetensors.torch import load as load_safetensors
from safetensors.torch import save as save_safetensors

from baselines.coresets import feature_network as fn
from benchmark.atomic import atomic_write_bytes
from benchmark.cache import cache_lock, cache_path
from benchmark.data.classdata import ClassData
from benchmark.strategy import FitContext

KIND = "forgetting_counts"


def count_forgetting_events(correctness: torch.Tensor) -> torch.Tensor:
    """Per-sample forgetting counts (float) from correctness (epochs, n) bool; never learned → +inf."""
    correctness = correctness.bool()
    if correctness.dim() != 2:
        raise ValueError(f"correctness must be (epochs, n), got shape {tuple(correctness.shape)}")
    forgotten = (correctness[:-1] & ~correctness[1:]).sum(0).double()
    never_learned = ~correctness.any(0)
    forgotten[never_learned] = float("inf")
    return forgotten


def most_forgotten(counts: torch.Tensor, k: int) -> torch.Tensor:
    """Positions of the ``k`` largest counts, most forgotten first; ties by lowest position."""
    if k > len(counts):
        raise ValueError(f"cannot keep {k} samples of {len(counts)}")
    order = torch.sort(counts, descending=True, stable=True).indices
    return order[:k]


def forgetting_counts(
    data: ClassData, config: fn.FeatureNetworkConfig, seed: int, context: FitContext
) -> tuple[torch.Tensor, torch.Tensor]:
    """(indices into ``data.train``, their forgetting counts), cached; trains the network if missing."""
    content = fn.cache_content(data, config, seed)
    path = cache_path(context.cache_root, KIND, content, "safetensors")
    with cache_lock(path):  # a parallel cell needing the same counts waits for them
        if path.is_file():
            try:
                stored = load_safetensors(path.read_bytes())
                return stored["indices"], stored["counts"]
            except Exception:  # unreadable file: compute again and overwrite it
                pass
        _, correctness, indices = fn.train_feature_network(data, config, seed, context)
        counts = count_forgetting_events(correctness)
        payload = save_safetensors(
            {"indices": indices.contiguous(), "counts": counts.contiguous()},
            metadata={"content": json.dumps(content, sort_keys=True)},
        )
        atomic_write_bytes(path, payload)
        return indices, counts


def select_most_forgotten(
    data: ClassData, indices: torch.Tensor, counts: torch.Tensor, ipc: int
) -> torch.Tensor:
    """Indices into ``data.train``: the ``ipc`` most forgotten of each class, class-major."""
    labels = data.train.labels.cpu()[indices]
    chosen = []
    for c in data.classes:
        positions = torch.nonzero(labels == c).flatten()  # ascending, so ties go to the lowest index
        if len(positions) < ipc:
            raise ValueError(f"class {c} has {len(positions)} candidate images, fewer than ipc {ipc}")
        chosen.append(indices[positions[most_forgotten(counts[positions], ipc)]])
    return torch.cat(chosen)
