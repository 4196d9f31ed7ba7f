"""The stored form of the sparsified SCMs: COO with uint8 coordinates (docs/protocol.md §6).

Per (image, head) exactly k entries, ordered by increasing flat index j·K + kk:
``coo_rows`` (n, H, k) uint8 patch index j, ``coo_cols`` (n, H, k) uint8 token index kk,
``coo_values`` (n, H, k) float32. Each non-zero costs 0.25 + 0.25 + 1 = 1.5 float32-equivalents.
"""

from __future__ import annotations

import torch

MAX_INDEX = 256  # uint8 coordinates: J and K at most 256


def encode(scm: torch.Tensor, mask: torch.Tensor) -> dict[str, torch.Tensor]:
    """Dense A and its top-k mask (exactly k per (image, head)) → the three COO tensors."""
    n, heads, patches, tokens = scm.shape
    if patches > MAX_INDEX or tokens > MAX_INDEX:
        raise ValueError(f"J={patches} and K={tokens} must be at most {MAX_INDEX} for uint8 indices")
    flat_mask = mask.reshape(n, heads, patches * tokens)
    counts = flat_mask.sum(-1)
    k = int(counts.flatten()[0]) if counts.numel() else 0
    if not bool((counts == k).all()):
        raise ValueError("the mask must keep the same number of entries in every (image, head)")
    flat_index = flat_mask.nonzero()[:, 2].reshape(n, heads, k)  # row-major: ascending per row
    values = scm.detach().reshape(n, heads, patches * tokens).gather(-1, flat_index)
    return {
        "coo_rows": (flat_index // tokens).to(torch.uint8),
        "coo_cols": (flat_index % tokens).to(torch.uint8),
        "coo_values": values.to(torch.float32).contiguous(),
    }


def decode(tensors: dict[str, torch.Tensor], patches: int, tokens: int) -> torch.Tensor:
    """COO tensors → the dense sparsified A (n, H, J, K), float32, zeros elsewhere."""
    rows = tensors["coo_rows"].long()
    cols = tensors["coo_cols"].long()
    values = tensors["coo_values"].float()
    n, heads, _ = values.shape
    dense = torch.zeros(n, heads, patches * tokens, dtype=torch.float32, device=values.device)
    dense.scatter_(-1, rows * tokens + cols, values)
    return dense.reshape(n, heads, patches, tokens)
