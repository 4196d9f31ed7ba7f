"""Results: records, the store that holds them, and their frames.

``load(folder)`` is the one call that turns a results folder into a pandas DataFrame::

    from benchmark.results import load
    frame = load("results")                      # every record, one row per (record, metric)
    frame[frame.metric == "accuracy"].groupby(["suite", "label", "ipc"]).value_pct.mean()
"""

from __future__ import annotations


def load(folder="results", suite: str | None = None, profile: str | None = None):
    """Every valid record under ``folder`` (optionally of one suite and profile) as a DataFrame:
    :func:`benchmark.results.frame.results_frame` (accuracies in percent, steps 1…T, provenance)."""
    from benchmark.results.frame import results_frame
    from benchmark.results.store import ResultStore

    records = ResultStore(folder, read_only=True).records(suite)
    return results_frame([r for r in records if profile in (None, r.config.get("profile"))])
