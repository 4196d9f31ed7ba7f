"""pandas views of records: the long format (one row per record and metric) and mean ± std tables."""

from __future__ import annotations

from typing import Any

import pandas as pd

from benchmark.spec import format_value, parse_spec

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
    if len(values) == 1:  # one network: no spread to show
        return f"{mean:.2f}"
    return f"{mean:.2f} ± {values.std(ddof=0) * scale:.2f}"


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


# Keys that choose a component: ``speed:objective=dm`` is another method than ``speed`` (which means
# TM), so a label shows such a key whenever it is not the strategy's default.
COMPONENT_KEYS = ("objective",)


def _non_default_components(name: str, params: dict) -> set[str]:
    from benchmark.errors import BenchmarkError
    from benchmark.strategy import strategy_class

    try:
        declared = strategy_class(name).declared_params(params)
    except BenchmarkError:  # a strategy not registered in this process (e.g. a plugin's record)
        return {k for k in COMPONENT_KEYS if k in params}
    return {k for k in COMPONENT_KEYS if k in params and k in declared and params[k] != declared[k].default}


def strategy_labels(specs, cells=None) -> dict[str, str]:
    """Each resolved spec → its strategy name plus its component keys and the keys that tell it
    from same-named specs.

    ``cells`` (pairs of spec and IPC) limits "telling apart" to specs run at the same IPC: a planned
    strategy resolves to other keys at each IPC (SPEED's D, K, k), which must not split its row.
    Without ``cells`` all specs count as one cell."""
    parsed = {spec: parse_spec(spec) for spec in specs}
    cells = [(spec, None) for spec in parsed] if cells is None else list(cells)
    specs_per_cell: dict[tuple[str, object], set[str]] = {}
    for spec, ipc in cells:
        specs_per_cell.setdefault((parsed[spec].name, ipc), set()).add(spec)
    varying: dict[str, set[str]] = {}
    for (name, _), group in specs_per_cell.items():
        keys = {k for spec in group for k in parsed[spec].params}
        varying.setdefault(name, set()).update(
            k for k in keys if len({format_value(parsed[s].params.get(k)) for s in group}) > 1
        )
    labels = {}
    for spec, value in parsed.items():
        params = value.params
        shown = varying.get(value.name, set()) | _non_default_components(value.name, params)
        order = [k for k in COMPONENT_KEYS if k in shown] + sorted(k for k in shown - set(COMPONENT_KEYS))
        extra = ":".join(f"{k}={format_value(params[k])}" for k in order if k in params)
        labels[spec] = f"{value.name}:{extra}" if extra else value.name
    return labels


def frame_strategy_labels(frame: pd.DataFrame) -> dict[str, str]:
    """:func:`strategy_labels` of a frame's specs, telling specs apart within each IPC."""
    specs = frame["strategy"].dropna()
    if "ipc" not in frame:
        return strategy_labels(specs.unique())
    ipcs = frame.loc[specs.index, "ipc"].astype(object)
    cells = set(zip(specs, ipcs.where(ipcs.notna(), None), strict=True))  # one cell for missing IPCs
    return strategy_labels(specs.unique(), cells)


def with_strategy_labels(frame: pd.DataFrame) -> pd.DataFrame:
    """Readable table rows: each resolved spec replaced by its label (:func:`frame_strategy_labels`)."""
    return frame.assign(strategy=frame["strategy"].map(frame_strategy_labels(frame)))


def summary_table(
    frame: pd.DataFrame, rows: list[str], columns: list[str], metric: str = "accuracy"
) -> pd.DataFrame:
    """Mean ± std (percent) of ``metric`` per row × column group, or 'does not fit' / 'failed'."""
    selected = frame[frame["metric"] == metric]
    if selected.empty:
        return pd.DataFrame()
    if "strategy" in rows:
        selected = with_strategy_labels(selected)
    cells = selected.groupby(rows + columns, dropna=False).apply(cell_status, include_groups=False)
    table = cells.unstack(columns) if columns else cells.to_frame(metric)
    return table.fillna("")


def storage_column(frame: pd.DataFrame, rows: list[str]) -> pd.Series:
    """Per table row: the largest stored float32-equivalents of its buffers against the budget,
    e.g. "7,720 / 7,840" (a does-not-fit row shows what it would need)."""
    selected = with_strategy_labels(frame) if "strategy" in rows else frame
    grouped = selected.groupby(rows, dropna=False)[["storage", "budget"]].max()

    def text(row: pd.Series) -> str:
        if pd.isna(row["storage"]) or pd.isna(row["budget"]):
            return ""
        return f"{row['storage']:,.0f} / {row['budget']:,.0f}"

    return grouped.apply(text, axis=1)

