"""FReeNet with multi-head sparse coding (paper eqs. 2–4, docs/protocol.md §6).

SAETs ``E`` (K × D) are split along D into H heads; the SCMs ``A`` (n × H × J × K) code each
patch of each image. R recurrent blocks share E and A; each block has its own projection W_r/b_r,
two LayerNorms and an MLP D → D → D (GELU):

    x0 = 0 (J × D)
    x  = LN1_r(x + W_r · concat_h(A_h @ E_h) + b_r)
    x  = LN2_r(x + MLP_r(x))

then a Linear(D → L = C·p²) per patch and un-patchify to C × H × W. No positional embedding.
The FReeNet holds only the network weights; E and A are passed in, E broadcast over the batch.

As in the published code (docs/protocol.md §12): LayerNorm eps 1e-6, and each patch's output vector
ordered (row in patch, column in patch, channel), so the published checkpoints load unpermuted.
Buffers written before this layout was adopted decode with ``LEGACY`` (eps 1e-5, channel first).
"""

from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

LAYOUT = "row_column_channel"  # the published code's order of each patch's output vector
LEGACY_LAYOUT = "channel_row_column"
LAYOUTS = (LAYOUT, LEGACY_LAYOUT)
LAYERNORM_EPS = 1e-6
LEGACY = {"layernorm_eps": 1e-5, "patch_layout": LEGACY_LAYOUT}


def freenet_parameter_count(dim: int, depth: int, patch_len: int) -> int:
    """R(3D² + 7D) + L(D + 1): the FReeNet term of eq. 7."""
    return depth * (3 * dim * dim + 7 * dim) + patch_len * (dim + 1)


class RecurrentBlock(nn.Module):
    """One block: multi-head sparse coding projection, then an MLP, each with residual + LayerNorm."""

    def __init__(self, dim: int, eps: float = LAYERNORM_EPS):
        super().__init__()
        self.proj = nn.Linear(dim, dim)  # W_r, b_r over the concatenated heads
        self.norm1 = nn.LayerNorm(dim, eps=eps)
        self.fc1 = nn.Linear(dim, dim)
        self.fc2 = nn.Linear(dim, dim)
        self.norm2 = nn.LayerNorm(dim, eps=eps)

    def forward(self, x: torch.Tensor, coded: torch.Tensor) -> torch.Tensor:
        x = self.norm1(x + self.proj(coded))
        return self.norm2(x + self.fc2(F.gelu(self.fc1(x))))


class FReeNet(nn.Module):
    """Feature-recurrent network: (E, A) → images (n, C, H, W)."""

    def __init__(
        self,
        dim: int,
        heads: int,
        depth: int,
        patch: int,
        image_shape: tuple[int, int, int],
        layernorm_eps: float = LAYERNORM_EPS,
        patch_layout: str = LAYOUT,
    ):
        super().__init__()
        channels, height, width = image_shape
        if patch_layout not in LAYOUTS:
            raise ValueError(f"unknown patch layout {patch_layout!r}; one of {', '.join(LAYOUTS)}")
        if dim % heads:
            raise ValueError(f"dim {dim} is not divisible by heads {heads}")
        if height % patch or width % patch:
            raise ValueError(f"patch {patch} does not divide the image side {height}×{width}")
        self.dim, self.heads, self.depth, self.patch = dim, heads, depth, patch
        self.image_shape = (channels, height, width)
        self.grid = (height // patch, width // patch)
        self.patch_layout = patch_layout
        self.blocks = nn.ModuleList(RecurrentBlock(dim, layernorm_eps) for _ in range(depth))
        self.head = nn.Linear(dim, channels * patch * patch)
        self.reset_parameters()

    @property
    def num_patches(self) -> int:
        return self.grid[0] * self.grid[1]

    def reset_parameters(self) -> None:
        """Xavier-uniform Linear weights, zero biases, LayerNorm weight 1 and bias 0."""
        for module in self.modules():
            if isinstance(module, nn.Linear):
                nn.init.xavier_uniform_(module.weight)
                nn.init.zeros_(module.bias)
            elif isinstance(module, nn.LayerNorm):
                nn.init.ones_(module.weight)
                nn.init.zeros_(module.bias)

    def code(self, saet: torch.Tensor, scm: torch.Tensor) -> torch.Tensor:
        """concat_h(A_h @ E_h): (n, H, J, K) codes × (K, D) tokens → (n, J, D), E broadcast."""
        tokens = saet.shape[0]
        heads_view = saet.reshape(tokens, self.heads, self.dim // self.heads)
        coded = torch.einsum("nhjk,khd->njhd", scm, heads_view)
        return coded.reshape(scm.shape[0], scm.shape[2], self.dim)

    def forward(self, saet: torch.Tensor, scm: torch.Tensor) -> torch.Tensor:
        coded = self.code(saet, scm)
        x = torch.zeros_like(coded)
        for block in self.blocks:
            x = block(x, coded)
        return self.unpatchify(self.head(x))

    def unpatchify(self, patches: torch.Tensor) -> torch.Tensor:
        """(n, J, L) with patches row-major over the grid, each vector ordered by the layout
        (published: row, column, channel) → (n, C, H, W)."""
        n = patches.shape[0]
        channels, height, width = self.image_shape
        rows, cols = self.grid
        p = self.patch
        if self.patch_layout == LAYOUT:
            grid = patches.reshape(n, rows, cols, p, p, channels).permute(0, 5, 1, 3, 2, 4)
        else:
            grid = patches.reshape(n, rows, cols, channels, p, p).permute(0, 3, 1, 4, 2, 5)
        return grid.reshape(n, channels, height, width)
