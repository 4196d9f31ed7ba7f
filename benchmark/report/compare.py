"""Measured cells of the ``paper`` profile beside their reported counterparts (``reported.csv``).

A measured cell is (dataset, suite, resolved strategy spec, ipc, network, recipe) with its mean ± std
(percent, ddof 0) over evaluation networks. Its counterparts are the reported rows with the same
dataset, suite, strategy name, ipc and network whose ``spec`` keys (e.g. ``objective=dm``) all hold in
the measured spec. The difference is measured − reported, in points; "within std" asks whether
|difference| ≤ the reported std.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from benchmark.report.reported import load_reported, spec_matches
from benchmark.results.frame import missing, records_frame

PROFILE = "paper"
COLUMNS = ["dataset", "suite", "strategy", "ipc", "network", "recipe", "measured", "n", "reported",
           "source", "difference", "within_std", "status"]  # fmt: skip


def compare_frame(records: list[dict[str, Any]], reported: pd.DataFrame | None = None) -> pd.DataFrame:
    """One row per (measured paper-profile cell, reported counterpart); cells without one keep a row."""
    records = [r for r in records if r.config.get("profile") == PROFILE]
    if not records:
        return pd.DataFrame(columns=COLUMNS)
    reported = load_reported() if reported is None else reported
    frame = records_frame(records)
    frame = frame[(frame["metric"] == "accuracy") & frame["step"].isna()]
    rows = []
    keys = ["dataset", "suite", "spec", "strategy", "label", "ipc", "network", "recipe"]
    for values, group in frame.groupby(keys, dropna=False, sort=True):
        cell = dict(zip(keys, values, strict=True))
        ok = group.loc[group["status"] == "ok", "value"].dropna().astype(float) * 100
        measured = ok.mean() if len(ok) else np.nan
        std = ok.std(ddof=0) if len(ok) > 1 else 0.0
        status = (
            "ok" if len(ok) else ("does_not_fit" if (group["status"] == "does_not_fit").any() else "failed")
        )
        base = {
            "dataset": cell["dataset"],
            "suite": cell["suite"],
            "strategy": cell["label"],
            "ipc": cell["ipc"],
            "network": cell["network"],
            "recipe": cell["recipe"],
            "measured": f"{measured:.2f} ± {std:.2f}" if len(ok) else status.replace("_", " "),
            "n": len(ok),
            "status": status,
            "measured_mean": measured,
        }
        matches = _counterparts(reported, cell)
        if matches.empty:
            rows.append(base | {"reported": "", "source": "", "difference": np.nan, "within_std": None})
        for _, rep in matches.iterrows():
            diff = measured - rep["mean"] if len(ok) else np.nan
            rep_std = rep["std"]
            within = None if np.isnan(diff) or missing(rep_std) else bool(abs(diff) <= rep_std + 1e-9)
            rows.append(
                base
                | {
                    "reported": f"{rep['mean']:.1f}" + ("" if missing(rep_std) else f" ± {rep_std:.1f}"),
                    "source": f"{rep['source']}, {rep['table']}"
                    + (f" ({rep['spec']})" if rep["spec"] else ""),
                    "difference": diff,
                    "within_std": within,
                }
            )
    return pd.DataFrame(rows)


def _counterparts(reported: pd.DataFrame, cell: dict[str, Any]) -> pd.DataFrame:
    rep = reported[
        (reported["dataset"] == cell["dataset"])
        & (reported["suite"] == cell["suite"])
        & (reported["strategy"] == cell["strategy"])
        & (reported["network"] == cell["network"])
        & (reported["metric"] == "accuracy")
    ]
    ipc = cell["ipc"]
    # a published number without an IPC (an upper bound) is compared at every IPC
    rep = rep[rep["ipc"].isna() | (rep["ipc"] == (ipc if not missing(ipc) else -1))]
    return rep[[spec_matches(cell["spec"], spec) for spec in rep["spec"]]]


def format_compare(frame: pd.DataFrame) -> str:
    if frame.empty:
        return ""
    shown = frame.copy()
    shown["difference"] = shown["difference"].map(lambda d: "" if missing(d) else f"{d:+.2f}")
    shown["within_std"] = shown["within_std"].map(lambda w: "" if w is None else ("yes" if w else "no"))
    shown["ipc"] = shown["ipc"].map(lambda v: "" if missing(v) else str(int(v)))
    columns = ["dataset", "suite", "strategy", "ipc", "network", "measured", "reported", "difference",
               "within_std", "source"]  # fmt: skip
    return shown[columns].to_string(index=False)
