"""Differentiable Siamese Augmentation (DSA)."""

from benchmark.augment.dsa import DSA, AugmentationDraw

__all__ = ["DSA", "AugmentationDraw"]
