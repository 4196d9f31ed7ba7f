"""Herding (Welling 2009; Chen et al. 2010; Rebuffi et al. 2017), textbook argmin form.

With μ the mean of the class's features, step i (0-based) picks the unselected sample f that
minimises ‖(i+1)μ − Σ selected − f‖: the one that brings the running mean of the selection closest
to μ. See docs/coresets.md for why argmin and not argmax.
"""

from __future__ import annotations

import torch


def herding_select(features: torch.Tensor, k: int) -> torch.Tensor:
    """Positions (into ``features`` (n, d)) of ``k`` samples in the order herding picks them.

    Ties go to the lowest position (``torch.argmin`` returns the first minimum).
    """
    n = len(features)
    if k > n:
        raise ValueError(f"herding cannot select {k} samples from {n}")
    features = features.double()
    mean = features.mean(0)
    total = torch.zeros_like(mean)
    available = torch.ones(n, dtype=torch.bool)
    chosen: list[int] = []
    for i in range(k):
        distances = torch.linalg.vector_norm((i + 1) * mean - total - features, dim=1)
        distances[~available] = float("inf")
        j = int(torch.argmin(distances))
        chosen.append(j)
        available[j] = False
        total += features[j]
    return torch.tensor(chosen, dtype=torch.long)
