"""Distillation = a Parameterization × an Objective run by one generic loop (docs/ARCHITECTURE.md)."""
