"""Coreset selectors (PROTOCOL.md §8): herding, k-center greedy and forgetting events."""
