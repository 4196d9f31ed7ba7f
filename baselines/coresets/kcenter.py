"""k-center greedy (Sener & Savarese 2018): a seeded random first centre, then farthest-first."""

from __future__ import annotations

import torch


def kcenter_select(features: torch.Tensor, k: int, generator: torch.Generator) -> torch.Tensor:
    """Positions (into ``features`` (n, d)) of ``k`` centres in the order chosen.

    The first centre is drawn uniformly with ``generator``; each next one is the sample farthest
    (Euclidean) from its nearest chosen centre. Ties go to the lowest position; chosen samples are
    never chosen again (even among duplicates).
    """
    n = len(features)
    if k > n:
        raise ValueError(f"k-center cannot select {k} samples from {n}")
    if k == 0:
        return torch.zeros(0, dtype=torch.long)
    features = features.double()
    first = int(torch.randint(n, (1,), generator=generator))
    chosen = [first]
    nearest = torch.linalg.vector_norm(features - features[first], dim=1)
    nearest[first] = -1.0
    for _ in range(k - 1):
        j = int(torch.argmax(nearest))
        chosen.append(j)
        nearest = torch.minimum(nearest, torch.linalg.vector_norm(features - features[j], dim=1))
        nearest[chosen] = -1.0
    return torch.tensor(chosen, dtype=torch.long)
