"""Training a fresh network on images and testing it: the evaluation protocol (PROTOCOL.md §1)."""
