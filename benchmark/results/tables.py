"""pandas views of records: the long format (one row per record and metric) and mean ± std tables."""

from __future__ import annotations

from typing import Any

import pandas as pd

LONG_COLUMNS = [
    "key", "dataset", "suite", "profile", "strategy", "strategy_name", "ipc", "network", "step",
    "steps", "class_order", "distill_seed", "repeat", "eval_seed", "metric", "value", "storage",
    "budget", "learned_lr", "status", "error",
]  # fmt: skip


def long_frame(records: list[dict[str, Any]]) -> pd.DataFrame:
    """One row per (record, metric); records without metrics (failed, does not fit) keep one row."""
    rows = []
    for record in records:
        config = record["config"]
        base = {column: config.get(column) for column in LONG_COLUMNS if column in config}
        base |= {
            "key": record["key"],
            "storage": record.get("storage"),
            "budget": record.get("budget"),
            "learned_lr": record.get("learned_lr"),
            "status": record["status"],
            "error": record.get("error"),
        }
        metrics = record.get("metrics") or {}
        if not metrics:
            rows.append(base | {"metric": "accuracy", "value": float("nan")})
        for metric, value in metrics.items():
            rows.append(base | {"metric": metric, "value": value})
    return pd.DataFrame(rows, columns=LONG_COLUMNS)


def format_mean_std(values: pd.Series, scale: float = 100.0) -> str:
    values = values.dropna()
    if values.empty:
        return ""
    mean = values.mean() * scale
    std = values.std(ddof=0) * scale if len(values) > 1 else 0.0
    return f"{mean:.2f} ± {std:.2f}"


def cell_status(group: pd.DataFrame) -> str:
    """What a table cell shows: mean ± std of ok values, else the reason there are none."""
    ok = group[group["status"] == "ok"]["value"]
    if not ok.dropna().empty:
        return format_mean_std(ok)
    if (group["status"] == "does_not_fit").any():
        return "does not fit"
    if (group["status"] == "failed").any():
        return "failed"
    return ""


def summary_table(
    frame: pd.DataFrame, rows: list[str], columns: list[str], metric: str = "accuracy"
) -> pd.DataFrame:
    """Mean ± std (percent) of ``metric`` per row × column group, or 'does not fit' / 'failed'."""
    selected = frame[frame["metric"] == metric]
    if selected.empty:
        return pd.DataFrame()
    cells = selected.groupby(rows + columns, dropna=False).apply(cell_status, include_groups=False)
    table = cells.unstack(columns) if columns else cells.to_frame(metric)
    return table.fillna("")
