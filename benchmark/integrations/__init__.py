"""Adapters that let other libraries use the benchmark's strategies (avalanche)."""
