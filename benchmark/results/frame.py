"""Records as one pandas frame, and the one aggregation every table uses.

:func:`records_frame` is the long format: one row per (record, metric), with the record's config,
its strategy's role and a readable row label. Each record counts once (by key), and records that
differ in a setting that changes a number (the evaluation recipe, its precision, the preprocessing,
the continual steps) never share a label: where a table holds such records, every label names the
setting (``random [precision=bf16]``). :func:`aggregate` turns observations (rows of that frame
placed in a table column by a suite) into cells: mean ± std over the evaluation networks (ddof 0;
accuracies in percent, other metrics as recorded), else the worst status ("does not fit",
"failed"); the best ranked mean of each column; the gain over the strategy whose role is
``reference`` (e.g. ``random``) in the same row setting and column.
"""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np
import pandas as pd

from benchmark.results.config import FRAME_COLUMNS, fields_at
from benchmark.results.record import Record
from benchmark.spec import format_value, parse_spec

# the config's frame columns, how the record reads (role, label, recipe kind) after its strategy
LONG_COLUMNS = [
    "key",
    *(c for column in FRAME_COLUMNS for c in ([column, "role", "label", "recipe"] if column == "strategy"
                                              else [column])),
    "metric", "value", "storage", "budget", "learned_lr", "status", "error", "setting", "label_parts",
]  # fmt: skip
ORIGINAL_RECIPE = " [original recipe]"


def missing(value: Any) -> bool:
    return value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value))


def is_percentage(metric: Any) -> bool:
    """Accuracies (``accuracy``, ``accuracy/<corruption>/<severity>``, …) are fractions shown in
    percent; every other metric (a loss, a time) is shown as recorded."""
    return str(metric).startswith("accuracy")


def count_once(records: list[Record]) -> list[Record]:
    """Each record once, by key (the first of copies reached twice: a copied file, a linked folder)."""
    return list({record.key: record for record in reversed(records)}.values())[::-1]


# ---- settings that change a number -----------------------------------------------------------------


def _recipe_defaults() -> dict[str, Any]:
    from dataclasses import asdict

    from benchmark.training.recipe import EvalRecipe

    return asdict(EvalRecipe())


def _setting(config: dict[str, Any], defaults: dict[str, Any]) -> dict[str, str]:
    """What a record's number depends on beyond its strategy, IPC, network and seeds: the config's
    ``setting`` fields (:mod:`benchmark.results.config`), the recipe key by key (absent keys of older
    records at their defaults)."""
    values: dict[str, Any] = {}
    for name in fields_at("setting"):
        if name == "eval_recipe":
            recipe = defaults | dict(config.get(name) or {})
            recipe.pop("name", None)  # suite or original: the label already says it
            values |= recipe
        elif name == "suite_fields":  # a suite's own settings, each on its own
            values |= dict(config.get(name) or {})
        else:
            values[name] = config.get(name)
    return {
        k: v if isinstance(v, str) else json.dumps(v, sort_keys=True, default=str) for k, v in values.items()
    }


def setting_suffixes(records: list[Record]) -> dict[str, str]:
    """Record key → `` [key=value, …]``: the settings in which records of one table (dataset, suite,
    profile) differ while sharing strategy spec, recipe kind, IPC and network; "" where none do."""
    if not records:
        return {}
    defaults = _recipe_defaults()
    settings = {r.key: _setting(r.config, defaults) for r in records}
    cells: dict[tuple, dict[tuple, list[dict[str, str]]]] = {}
    for r in records:
        c = r.config
        table = tuple(c.get(name) for name in fields_at("table"))
        kind = (c.get("eval_recipe") or {}).get("name") == "original"
        cell = (kind, *(c.get(name) for name in fields_at("cell")))
        cells.setdefault(table, {}).setdefault(cell, []).append(settings[r.key])
    shown: dict[tuple, list[str]] = {}
    for table, groups in cells.items():
        varying = {
            k for group in groups.values() for s in group for k in s if len({g.get(k) for g in group}) > 1
        }
        shown[table] = sorted(varying)
    suffixes = {}
    for r in records:
        keys = shown[tuple(r.config.get(name) for name in fields_at("table"))]
        parts = [f"{k}={settings[r.key].get(k)}" for k in keys]
        suffixes[r.key] = f" [{', '.join(parts)}]" if parts else ""
    return suffixes


def records_frame(records: list[Record]) -> pd.DataFrame:
    """One row per (record, metric), each record once; records without metrics (failed, does not
    fit) keep one row."""
    records = count_once(records)
    rows = []
    for record in records:
        config = record.config
        recipe = (config.get("eval_recipe") or {}).get("name") or "suite"
        base = {column: config.get(column) for column in FRAME_COLUMNS}
        base |= {
            "key": record.key,
            "role": record.role,
            "label_parts": None if record.label_parts is None else tuple(record.label_parts),
            "recipe": "original" if recipe == "original" else "suite",
            "storage": record.storage,
            "budget": record.budget,
            "learned_lr": record.learned_lr,
            "status": record.status,
            "error": record.error,
        }
        metrics = record.metrics or {}
        if not metrics:
            rows.append(base | {"metric": "accuracy", "value": float("nan")})
        for metric, value in metrics.items():
            rows.append(base | {"metric": metric, "value": value})
    frame = pd.DataFrame(rows, columns=LONG_COLUMNS)
    if not frame.empty:
        frame["label"] = frame["spec"].map(frame_labels(frame))
        frame.loc[frame["recipe"] == "original", "label"] += ORIGINAL_RECIPE
        frame["setting"] = frame["key"].map(setting_suffixes(records))
        frame["label"] += frame["setting"]
    return frame


def results_frame(records: list[Record]) -> pd.DataFrame:
    """The public view of records (``show --format csv``, ``tables/records.csv``, :func:`load`): one
    row per (record, metric), the metric as recorded (``value``) and, for accuracies, in percent
    (``value_pct``; empty for other metrics), storage and budget in float32 equivalents, continual
    steps numbered 1…T as in tables (records store the 0-based index), and the provenance and cost
    of each number."""
    records = count_once(records)
    frame = records_frame(records).drop(columns="label_parts")
    if frame.empty:
        return frame.assign(value_pct=frame["value"]).rename(
            columns={"storage": "storage_floats", "budget": "budget_floats"}
        )
    by_key = {r.key: r for r in records}
    extra = pd.DataFrame(
        [
            {
                "key": r.key, "buffer": r.buffer, "soft_labels": r.soft_labels is not None,
                "recipe_epochs": (r.config.get("eval_recipe") or {}).get("epochs"),
                "distill_s": r.wall_time_s.get("distill"), "evaluate_s": r.wall_time_s.get("evaluate"),
                "git_commit": r.code.get("git_commit"), "version": r.code.get("version"),
                "created": r.created, "threads": r.runtime.get("threads"), "device": r.runtime.get("device"),
            }
            for r in by_key.values()
        ]
    )  # fmt: skip
    frame = frame.merge(extra, on="key", how="left")
    percent = frame["metric"].map(is_percentage).astype(bool)
    frame["value_pct"] = (frame["value"] * 100).where(percent)
    frame["step"] = (frame["step"] + 1).astype("Int64")
    for column in ("steps", "ipc", "class_order", "distill_seed", "repeat", "eval_seed", "recipe_epochs"):
        frame[column] = frame[column].astype("Int64")
    return frame.rename(columns={"storage": "storage_floats", "budget": "budget_floats"})


# ---- readable row labels -------------------------------------------------------------------------

# Keys that choose a component: ``speed:objective=dm`` is another method than ``speed`` (which means
# TM), so a label shows such a key whenever it is not the strategy's default. A record names those
# keys of its spec (``Record.label_parts``); for records written before, the built-in strategies'
# component defaults stand in, and a strategy not among them shows every component key it has.
COMPONENT_KEYS = ("objective", "distill_precision")  # a row always names these when not the default
BUILT_IN_COMPONENTS = {"speed": {"objective": "tm"}, "haba": {"objective": "tm"}}
OUTSIDE_SET = "external"  # the strategy of a set scored from elsewhere (benchmark/external.py)


def built_in_label_parts(spec: str) -> list[str]:
    """The component keys a label of ``spec`` shows, for a record that does not name them."""
    parsed = parse_spec(spec)
    defaults = BUILT_IN_COMPONENTS.get(parsed.name)
    return [
        k for k in COMPONENT_KEYS
        if k in parsed.params and (defaults is None or format_value(parsed.params[k]) != defaults.get(k))
    ]  # fmt: skip


def strategy_labels(specs, cells=None, parts: dict[str, list[str]] | None = None) -> dict[str, str]:
    """Each resolved spec → its strategy name plus its component keys and the keys that tell it
    from same-named specs.

    ``cells`` (pairs of spec and IPC) limits "telling apart" to specs run at the same IPC: a planned
    strategy resolves to other keys at each IPC (SPEED's D, K, k), which must not split its row.
    Without ``cells`` all specs count as one cell. ``parts``: the component keys each spec's records
    name (a spec without: :func:`built_in_label_parts`)."""
    parts = parts or {}
    parsed = {spec: parse_spec(spec) for spec in specs}
    cells = [(spec, None) for spec in parsed] if cells is None else list(cells)

    # specs that differ in a component (SPEED × TM, SPEED × DM) are told apart by it alone: only the
    # keys varying among specs with the same name and components are shown
    def family(spec: str) -> tuple:
        params = parsed[spec].params
        return (parsed[spec].name, *(format_value(params.get(k)) for k in COMPONENT_KEYS))

    specs_per_cell: dict[tuple, set[str]] = {}
    for spec, ipc in cells:
        specs_per_cell.setdefault((family(spec), ipc), set()).add(spec)
    varying: dict[tuple, set[str]] = {}
    for (group_family, _), group in specs_per_cell.items():
        keys = {k for spec in group for k in parsed[spec].params}
        varying.setdefault(group_family, set()).update(
            k for k in keys if len({format_value(parsed[s].params.get(k)) for s in group}) > 1
        )
    labels = {}
    for spec, value in parsed.items():
        if value.name == OUTSIDE_SET and "name" in value.params:  # its own name; no registry entry
            labels[spec] = f"{OUTSIDE_SET}:{spec.split('name=', 1)[1]}"
            continue
        params = value.params
        own = parts.get(spec)
        shown = varying.get(family(spec), set()) | set(built_in_label_parts(spec) if own is None else own)
        order = [k for k in COMPONENT_KEYS if k in shown] + sorted(k for k in shown - set(COMPONENT_KEYS))
        extra = ":".join(f"{k}={format_value(params[k])}" for k in order if k in params)
        labels[spec] = f"{value.name}:{extra}" if extra else value.name
    return labels


def frame_labels(frame: pd.DataFrame) -> dict[str, str]:
    """:func:`strategy_labels` of a frame's specs, telling specs apart within each IPC."""
    specs = frame["spec"].dropna()
    ipcs = frame.loc[specs.index, "ipc"].astype(object)
    cells = set(zip(specs, ipcs.where(ipcs.notna(), None), strict=True))  # one cell for missing IPCs
    parts: dict[str, list[str]] = {}
    if "label_parts" in frame:
        named = frame.loc[specs.index, "label_parts"]
        for spec, own in zip(specs, named, strict=True):
            if isinstance(own, tuple | list):
                parts.setdefault(spec, list(own))
    return strategy_labels(specs.unique(), cells, parts)


# ---- cells ---------------------------------------------------------------------------------------


def format_mean_std(mean: float, std: float, n: int) -> str:
    """ "mean ± std" in percent; one network shows no spread."""
    return f"{mean:.2f}" if n == 1 else f"{mean:.2f} ± {std:.2f}"


def worst_status(statuses) -> str:
    values = set(statuses)
    return "does_not_fit" if "does_not_fit" in values else ("failed" if "failed" in values else "ok")


STATUS_TEXT = {"does_not_fit": "does not fit", "failed": "failed", "ok": ""}


def aggregate(obs: pd.DataFrame, row_keys: list[str]) -> pd.DataFrame:
    """One cell per row × column of observations (frame rows with ``column``, ``order``, ``axis``):
    mean/std (ddof 0; percent for accuracies), n, the cell text, status, storage, budget; then
    ``best`` and ``gain``."""
    cells = []
    for _, group in obs.groupby(row_keys + ["column"], dropna=False, sort=False):
        first = group.iloc[0]
        scale = 100 if is_percentage(first.get("metric", "accuracy")) else 1
        ok = group.loc[group["status"] == "ok", "value"].dropna().astype(float)
        mean = ok.mean() * scale if len(ok) else np.nan
        std = ok.std(ddof=0) * scale if len(ok) else np.nan
        status = "ok" if len(ok) else worst_status(group["status"])
        cells.append(
            {key: first[key] for key in row_keys}
            | {
                "column": first["column"], "order": first["order"], "axis": first["axis"],
                "spec": first["spec"], "strategy": first["strategy"], "role": first["role"],
                "setting": first.get("setting", ""),
                "recipe": first["recipe"], "ipc": first["ipc"], "network": first["network"],
                "mean": mean, "std": std, "n": len(ok),
                "text": format_mean_std(mean, std, len(ok)) if len(ok) else STATUS_TEXT[status],
                "status": status, "storage": group["storage"].max(), "budget": group["budget"].max(),
                "kind": "measured",
            }
        )  # fmt: skip
    cells = pd.DataFrame(cells)
    return cells.loc[:, ~cells.columns.duplicated()]


def mark_best_and_gain(cells: pd.DataFrame, row_keys: list[str]) -> pd.DataFrame:
    """``best``: the highest ranked mean of its column (ties all bold; upper bounds never ranked).
    ``gain``: mean − the mean of the ``reference`` strategy with the same recipe, setting, other row
    keys and column (points); the reference used is named in ``reference``."""
    cells = cells.copy()
    rankable = cells["mean"].notna() & (cells["role"] != "upper_bound")
    best = cells[rankable].groupby("column")["mean"].transform("max")
    cells["best"] = False
    cells.loc[best.index, "best"] = np.isclose(cells.loc[best.index, "mean"], best)
    others = [k for k in row_keys if k != "label"]
    references = cells[cells["role"] == "reference"].sort_values("label", kind="stable")
    lookup: dict[tuple, tuple[float, str]] = {}
    for _, ref in references.iterrows():
        key = (ref["recipe"], ref.get("setting", ""), *(_key(ref[k]) for k in others), ref["column"])
        lookup.setdefault(key, (ref["mean"], ref["label"]))
    gains, names = [], []
    for _, cell in cells.iterrows():
        where = (cell["recipe"], cell.get("setting", ""), *(_key(cell[k]) for k in others), cell["column"])
        found = lookup.get(where)
        if found is None or cell["role"] == "reference" or missing(cell["mean"]) or missing(found[0]):
            gains.append(np.nan)
            names.append(found[1] if found else "")
        else:
            gains.append(cell["mean"] - found[0])
            names.append(found[1])
    cells["gain"], cells["reference"] = gains, names
    return cells


def _key(value: Any) -> Any:
    return None if missing(value) else value
