"""Seeded, class-balanced hold-outs (decision 4): val from train, and test where none is official."""

from __future__ import annotations

import torch


def class_balanced_holdout(
    labels: torch.Tensor, fraction: float, seed: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """Indices (kept, held_out): ``fraction`` of each class held out, chosen with ``seed``.

    The choice depends only on the labels, the fraction and the seed, so it is stable.
    """
    generator = torch.Generator().manual_seed(seed)
    kept, held = [], []
    for c in torch.unique(labels).tolist():
        idx = torch.nonzero(labels == c).flatten()
        perm = idx[torch.randperm(len(idx), generator=generator)]
        n_held = int(round(fraction * len(idx)))
        held.append(perm[:n_held])
        kept.append(perm[n_held:])
    return torch.sort(torch.cat(kept)).values, torch.sort(torch.cat(held)).values
