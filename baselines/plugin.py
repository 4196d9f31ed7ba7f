"""Baselines register themselves here."""
