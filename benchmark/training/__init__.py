"""Training a fresh network on images and testing it: the evaluation protocol (docs/protocol.md §1)."""
