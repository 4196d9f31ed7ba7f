"""Vision Transformer as SPEED evaluates with it (docs/protocol.md §1).

Patches (4 px by default) → Linear → [cls] + learned positional embedding → depth 6 pre-norm
blocks (8 heads × 64, qkv without bias; FFN 512 with GELU; dropout 0.1) → cls token → LayerNorm
→ Linear. When the patch does not divide the image side, the largest smaller one that does is used.
"""

from __future__ import annotations

import torch
import torch.nn as nn


def fitting_patch(image_size: int, patch: int) -> int:
    """``patch`` if it divides ``image_size``, else the largest smaller divisor (at least 1)."""
    for p in range(min(patch, image_size), 0, -1):
        if image_size % p == 0:
            return p
    return 1


class Attention(nn.Module):
    """Multi-head self-attention, qkv without bias, projected back to ``dim``."""

    def __init__(self, dim: int, heads: int, dim_head: int, dropout: float):
        super().__init__()
        inner = heads * dim_head
        self.heads = heads
        self.scale = dim_head**-0.5
        self.to_qkv = nn.Linear(dim, inner * 3, bias=False)
        self.attend_dropout = nn.Dropout(dropout)
        self.to_out = nn.Sequential(nn.Linear(inner, dim), nn.Dropout(dropout))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, n, _ = x.shape
        q, k, v = (t.reshape(b, n, self.heads, -1).transpose(1, 2) for t in self.to_qkv(x).chunk(3, dim=-1))
        weights = self.attend_dropout(torch.softmax(q @ k.transpose(-1, -2) * self.scale, dim=-1))
        return self.to_out((weights @ v).transpose(1, 2).reshape(b, n, -1))


class Block(nn.Module):
    """Pre-norm transformer block: x + Attn(LN(x)), then x + FFN(LN(x))."""

    def __init__(self, dim: int, heads: int, dim_head: int, mlp_dim: int, dropout: float):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim)
        self.attention = Attention(dim, heads, dim_head, dropout)
        self.norm2 = nn.LayerNorm(dim)
        self.ffn = nn.Sequential(
            nn.Linear(dim, mlp_dim),
            nn.GELU(),
            nn.Dropout(dropout),
            nn.Linear(mlp_dim, dim),
            nn.Dropout(dropout),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.attention(self.norm1(x))
        return x + self.ffn(self.norm2(x))


class ViT(nn.Module):
    """ViT with ``embed`` (the LayerNorm-ed cls token) and a linear classifier."""

    def __init__(
        self,
        channels: int,
        image_size: int,
        num_classes: int,
        patch: int = 4,
        dim: int = 512,
        depth: int = 6,
        heads: int = 8,
        dim_head: int = 64,
        mlp_dim: int = 512,
        dropout: float = 0.1,
    ):
        super().__init__()
        self.patch = fitting_patch(image_size, patch)
        tokens = (image_size // self.patch) ** 2
        self.to_embedding = nn.Linear(channels * self.patch * self.patch, dim)
        self.cls_token = nn.Parameter(torch.randn(1, 1, dim))
        self.pos_embedding = nn.Parameter(torch.randn(1, tokens + 1, dim))
        self.dropout = nn.Dropout(dropout)
        self.blocks = nn.Sequential(*[Block(dim, heads, dim_head, mlp_dim, dropout) for _ in range(depth)])
        self.head_norm = nn.LayerNorm(dim)
        self.embedding_dim = dim
        self.classifier = nn.Linear(dim, num_classes)

    def patches(self, x: torch.Tensor) -> torch.Tensor:
        """(b, C, H, W) → (b, tokens, p·p·C), row-major over the patch grid."""
        b, c, h, w = x.shape
        p = self.patch
        x = x.reshape(b, c, h // p, p, w // p, p).permute(0, 2, 4, 3, 5, 1)
        return x.reshape(b, (h // p) * (w // p), p * p * c)

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        tokens = self.to_embedding(self.patches(x))
        cls = self.cls_token.expand(len(x), -1, -1)
        tokens = self.dropout(torch.cat([cls, tokens], dim=1) + self.pos_embedding)
        return self.head_norm(self.blocks(tokens)[:, 0])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.embed(x))


def vit(channels: int, image_size: int, num_classes: int, **options) -> ViT:
    """ViT, patch 4 (or the largest smaller divisor of the image side), dim 512, depth 6, 8 heads."""
    return ViT(channels, image_size, num_classes, **options)
