"""Datasets held as tensors grouped by class, with train / val / test splits (decision 4)."""

from benchmark.data.classdata import ClassData, DatasetOptions, Split
from benchmark.data.load import load_dataset

__all__ = ["ClassData", "DatasetOptions", "Split", "load_dataset"]
