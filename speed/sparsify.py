"""Feature sparsification (paper eq. 6, docs/protocol.md §6): keep exactly k codes per (image, head).

Tie-break rule (deterministic): entries are ranked by a stable sort on (−|a|, flat index), i.e.
by decreasing magnitude and, among equal magnitudes, by increasing flat index j·K + kk (the
lower patch index first, then the lower token index). The first k are kept.

``global``: the k best of the whole J × K matrix. ``local``: patch j keeps its k // J best tokens,
and the first k mod J patches (j = 0, 1, …) one more; exactly k in total.
"""

from __future__ import annotations

import torch

SCOPES = ("global", "local")


def per_patch_counts(k: int, patches: int) -> list[int]:
    """How many codes each patch keeps under ``local``: k // J each, remainder to the first patches."""
    base, extra = divmod(k, patches)
    return [base + (1 if j < extra else 0) for j in range(patches)]


def topk_mask(scm: torch.Tensor, k: int, scope: str = "global") -> torch.Tensor:
    """Boolean mask (n, H, J, K) with exactly k True per (image, head), by the tie-break rule."""
    n, heads, patches, tokens = scm.shape
    if not 0 < k <= patches * tokens:
        raise ValueError(f"k={k} must be between 1 and J·K = {patches * tokens}")
    magnitude = scm.detach().abs()
    if scope == "global":
        flat = magnitude.reshape(n, heads, patches * tokens)
        return _first_k_by_magnitude(flat, k).reshape(n, heads, patches, tokens)
    if scope == "local":
        counts = torch.tensor(per_patch_counts(k, patches), device=scm.device)
        if int(counts.max()) > tokens:
            raise ValueError(f"k={k} puts more than K={tokens} codes on one patch")
        order = torch.sort(magnitude, dim=-1, descending=True, stable=True).indices
        keep = torch.arange(tokens, device=scm.device) < counts[:, None]  # (J, K) by rank
        keep = keep.expand(n, heads, patches, tokens)
        return torch.zeros_like(magnitude, dtype=torch.bool).scatter_(-1, order, keep)
    raise ValueError(f"scope {scope!r} is not one of {', '.join(SCOPES)}")


def _first_k_by_magnitude(flat: torch.Tensor, k: int) -> torch.Tensor:
    """The rule's mask along the last axis without a full stable sort (the slowest step of a SPEED
    iteration on CPU): everything above the k-th largest value, then its ties by increasing index."""
    if torch.isnan(flat).any():  # NaN ranks as the largest in a sort; keep the sort's answer
        order = torch.sort(flat, dim=-1, descending=True, stable=True).indices[..., :k]
        return torch.zeros_like(flat, dtype=torch.bool).scatter_(-1, order, True)
    kth = torch.topk(flat, k, dim=-1).values[..., -1:]
    above, tied = flat > kth, flat == kth
    room = k - above.sum(-1, keepdim=True)
    return above | (tied & (torch.cumsum(tied, dim=-1) <= room))


def sparsify(scm: torch.Tensor, k: int, scope: str = "global") -> torch.Tensor:
    """Ā = B ⊙ A with dropped entries exactly +0 (gradient only to the kept entries)."""
    return torch.where(topk_mask(scm, k, scope), scm, torch.zeros((), dtype=scm.dtype, device=scm.device))


def sparsify_straight_through(scm: torch.Tensor, k: int, scope: str = "global") -> torch.Tensor:
    """Forward value equals ``sparsify`` exactly; the gradient flows to every entry of A."""
    return scm + (sparsify(scm, k, scope) - scm).detach()
