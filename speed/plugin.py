"""SPEED registers itself here."""
