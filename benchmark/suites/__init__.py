"""Suites expand a run into cells, train evaluation networks and write one record per network."""
