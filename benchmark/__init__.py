"""Benchmark suite for dataset distillation under storage budgets.

The harness knows no method by name: strategies, objectives, parameterizations and decoders
arrive through the registries in :mod:`benchmark.registries`.
"""

__version__ = "0.1.0"

# Bumped whenever a change would alter buffers or results, so cached ones are not reused.
CACHE_VERSION = 2
