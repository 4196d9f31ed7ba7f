"""Shared fixtures: tiny real data (scikit-learn digits) and quiet progress bars."""

import os

import pytest

os.environ.setdefault("BENCHMARK_PROGRESS", "0")


@pytest.fixture(scope="session")
def digits():
    from benchmark.data import load_dataset

    return load_dataset("digits")


@pytest.fixture(scope="session")
def fashion_mnist():
    """Fashion-MNIST, or a skip outside CI (CI installs it, so there a missing copy fails)."""
    from benchmark.data import load_dataset
    from benchmark.errors import DatasetNotFoundError

    try:
        return load_dataset("fashion_mnist")
    except DatasetNotFoundError:
        if os.environ.get("CI"):
            raise
        pytest.skip("Fashion-MNIST is not installed (apt-get install dataset-fashion-mnist)")
