"""Coreset selectors (docs/protocol.md §8): herding, k-center greedy and forgetting events."""
