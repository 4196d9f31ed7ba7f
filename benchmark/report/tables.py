"""The leaderboard's tables: one per dataset × suite × profile, built from records with pandas.

Each table is first a long frame of *cells* (one row per table row × column, measured and reported),
from which the Markdown, HTML and CSV views are rendered. Cells hold mean ± std in percent over the
evaluation networks (ddof 0, as :func:`benchmark.results.tables.format_mean_std`), the text the cell
shows (:func:`benchmark.results.tables.cell_status`: mean ± std, "does not fit" or "failed"), whether
the cell is the best measured one of its column (never ``whole``, never reported rows), and the gain
over ``random`` in the same row setting and column (difference of means, in points).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from benchmark.report.reported import load_reported, reported_label
from benchmark.results.tables import cell_status, frame_strategy_labels, long_frame

UNRANKED = ("whole",)
REFERENCE = "random"
NETWORK_ORDER = ("ConvNet", "ConvNetD4", "ConvNetD5", "ConvNetD6", "MLP", "ResNet18", "ResNet18BN",
                 "ResNet18_AP", "ViT", "AlexNet", "VGG11", "LeNet")  # fmt: skip
STANDARD_CORRUPTIONS = (
    "gaussian_noise", "shot_noise", "impulse_noise", "defocus_blur", "glass_blur", "motion_blur",
    "zoom_blur", "snow", "frost", "fog", "brightness", "contrast", "elastic_transform", "pixelate",
    "jpeg_compression",
)  # fmt: skip
EXTRA_CORRUPTIONS = ("speckle_noise", "gaussian_blur", "spatter", "saturate")
ROW_KEYS = {"standard": ["label"], "cross-arch": ["label", "ipc"]}
DEFAULT_ROW_KEYS = ["label", "ipc", "network"]
AVERAGE_INCREMENTAL = "avg. incremental"
FINAL = "final"
CLEAN = "clean"
MEAN15 = "mean-15"


@dataclass
class Table:
    dataset: str
    suite: str
    profile: str
    row_keys: list[str]
    columns: list[str]
    cells: pd.DataFrame  # long: row keys, column, mean, std, n, text, best, gain, kind, …
    storage: dict[tuple, str] = field(default_factory=dict)  # measured row → "storage / budget"
    _index: dict | None = field(default=None, repr=False)

    @property
    def name(self) -> str:
        return f"{self.dataset}_{self.suite}_{self.profile}"

    @property
    def title(self) -> str:
        return f"{self.dataset} · {self.suite} · {self.profile}"

    def rows(self, kind: str) -> list[tuple]:
        cells = self.cells[self.cells["kind"] == kind]
        return list(dict.fromkeys(cells[self.row_keys].itertuples(index=False, name=None)))

    def cell(self, row: tuple, column: str, kind: str = "measured") -> pd.Series | None:
        if self._index is None:
            self._index = {
                (c["kind"], _key(c[k] for k in self.row_keys), c["column"]): c
                for _, c in self.cells.iterrows()
            }
        return self._index.get((kind, _key(row), column))


def _key(values) -> tuple:
    return tuple(None if _missing(v) else v for v in values)


def _same(a: Any, b: Any) -> bool:
    if _missing(a) and _missing(b):
        return True
    return a == b


def _missing(value: Any) -> bool:
    return value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value))


# ---- the records as one frame -------------------------------------------------------------------


def records_frame(records: list[dict[str, Any]]) -> pd.DataFrame:
    """:func:`long_frame` plus the evaluation recipe's name and a short row label per strategy spec."""
    frame = long_frame(records)
    recipes = {r["key"]: ((r["config"].get("eval_recipe") or {}).get("name") or "suite") for r in records}
    frame["recipe"] = frame["key"].map(recipes).fillna("suite")
    labels = frame_strategy_labels(frame)
    frame["label"] = frame["strategy"].map(labels)
    frame.loc[frame["recipe"] == "original", "label"] += " [original recipe]"
    return frame


# ---- observations: one row per (record, table column) -------------------------------------------


def _network_rank(network: Any) -> tuple:
    name = str(network)
    return (NETWORK_ORDER.index(name) if name in NETWORK_ORDER else len(NETWORK_ORDER), name)


def _corruption_rank(column: str) -> tuple:
    if column in STANDARD_CORRUPTIONS:
        return (0, STANDARD_CORRUPTIONS.index(column), column)
    if column in EXTRA_CORRUPTIONS:
        return (1, EXTRA_CORRUPTIONS.index(column), column)
    return ({CLEAN: 3, MEAN15: 4}.get(column, 2), 0, column)


def _base(frame: pd.DataFrame) -> pd.DataFrame:
    keep = ["key", "label", "strategy", "strategy_name", "recipe", "ipc", "network", "step", "class_order",
            "distill_seed", "repeat", "status", "storage", "budget"]  # fmt: skip
    return frame[keep]


def observations(frame: pd.DataFrame, suite: str) -> pd.DataFrame:
    """Rows of one table's records, one per (record, table column), with ``column``, ``order``, ``value``."""
    if suite == "corruption":
        return _corruption_observations(frame)
    acc = frame[frame["metric"] == "accuracy"].copy()
    if suite == "standard":
        several = acc["network"].nunique(dropna=True) > 1
        pairs = list(zip(acc["ipc"], acc["network"], strict=True))
        acc["column"] = [f"IPC {ipc}" + (f" · {net}" if several else "") for ipc, net in pairs]
        acc["order"] = [(_num(ipc), _network_rank(net)) for ipc, net in pairs]
        return acc
    if suite == "cross-arch":
        acc["column"] = acc["network"].astype(str)
        acc["order"] = acc["network"].map(lambda n: (_network_rank(n),))
        return acc
    if suite == "continual":
        return _continual_observations(acc)
    acc["column"] = "accuracy"
    acc["order"] = [(0,)] * len(acc)
    return acc


def _num(value: Any) -> float:
    return math.inf if _missing(value) else float(value)


def _continual_observations(acc: pd.DataFrame) -> pd.DataFrame:
    steps = acc.copy()
    steps["column"] = steps["step"].map(lambda s: f"step {int(s)}" if not _missing(s) else "step ?")
    steps["order"] = steps["step"].map(lambda s: (0, _num(s)))
    run_keys = ["label", "strategy", "recipe", "ipc", "network", "class_order", "distill_seed", "repeat"]
    summaries = []
    for _, run in acc.groupby(run_keys, dropna=False, sort=False):
        first = run.iloc[0].copy()
        statuses = set(run["status"])
        status = "ok" if statuses == {"ok"} else ("does_not_fit" if "does_not_fit" in statuses else "failed")
        average = first.copy()
        average["value"] = run["value"].mean() if status == "ok" else np.nan
        average["status"], average["column"], average["order"] = status, AVERAGE_INCREMENTAL, (1, 0)
        summaries.append(average)
    final_rows = []
    for _, group in acc.groupby(["label", "ipc", "network"], dropna=False, sort=False):
        last = group["step"].max()
        for _, row in group[group["step"] == last].iterrows():
            row = row.copy()
            row["column"], row["order"] = FINAL, (1, 1)
            final_rows.append(row)
    return pd.concat([steps, pd.DataFrame(summaries), pd.DataFrame(final_rows)], ignore_index=True)


def _corruption_observations(frame: pd.DataFrame) -> pd.DataFrame:
    rows = []
    columns: set[str] = set()
    per_record = {}
    for key, group in frame.groupby("key", sort=False):
        values: dict[str, list[float]] = {}
        metrics = dict(zip(group["metric"], group["value"], strict=False))
        for metric, value in metrics.items():
            parts = str(metric).split("/")
            if len(parts) == 3 and parts[0] == "accuracy":
                values.setdefault(parts[1], []).append(value)
        if "accuracy/clean" in metrics:
            values[CLEAN] = [metrics["accuracy/clean"]]
        elif "accuracy" in metrics:
            values[CLEAN] = [metrics["accuracy"]]
        if "accuracy/mean15" in metrics:
            values[MEAN15] = [metrics["accuracy/mean15"]]
        per_record[key] = (group.iloc[0], {c: float(np.mean(v)) for c, v in values.items()})
        if group.iloc[0]["status"] == "ok":
            columns |= set(values)
    columns = columns or {CLEAN}
    for base, values in per_record.values():
        ok = base["status"] == "ok"
        for column in sorted(columns if not ok else values, key=_corruption_rank):
            row = base.copy()
            row["column"], row["order"] = column, _corruption_rank(column)
            row["value"] = values.get(column, np.nan) if ok else np.nan
            rows.append(row)
    return pd.DataFrame(rows)


# ---- cells -------------------------------------------------------------------------------------


def aggregate(obs: pd.DataFrame, row_keys: list[str]) -> pd.DataFrame:
    """One cell per row × column: mean/std (percent, ddof 0), n, the cell text, storage, budget."""
    cells = []
    for _, group in obs.groupby(row_keys + ["column"], dropna=False, sort=False):
        first = group.iloc[0]
        ok = group.loc[group["status"] == "ok", "value"].dropna().astype(float)
        cells.append(
            {
                **{key: first[key] for key in row_keys},
                "column": first["column"],
                "order": first["order"],
                "strategy_name": first["strategy_name"],
                "strategy": first["strategy"],
                "recipe": first["recipe"],
                "ipc": first["ipc"],
                "network": first["network"],
                "mean": ok.mean() * 100 if len(ok) else np.nan,
                "std": ok.std(ddof=0) * 100 if len(ok) > 1 else (0.0 if len(ok) else np.nan),
                "n": len(ok),
                "text": cell_status(group),
                "status": "ok" if len(ok) else _worst(group["status"]),
                "storage": group["storage"].max(),
                "budget": group["budget"].max(),
                "kind": "measured",
            }
        )
    cells = pd.DataFrame(cells)
    cells = cells.loc[:, ~cells.columns.duplicated()]
    return cells


def _worst(statuses: pd.Series) -> str:
    values = set(statuses)
    return "does_not_fit" if "does_not_fit" in values else ("failed" if "failed" in values else "ok")


def mark_best_and_gain(cells: pd.DataFrame, row_keys: list[str]) -> pd.DataFrame:
    """``best``: the highest measured mean of its column (ties all bold; ``whole`` never ranked).
    ``gain``: mean − mean of ``random`` with the same recipe, other row keys and column (points)."""
    cells = cells.copy()
    rankable = cells["mean"].notna() & ~cells["strategy_name"].isin(UNRANKED)
    best = cells[rankable].groupby("column")["mean"].transform("max")
    cells["best"] = False
    cells.loc[best.index, "best"] = np.isclose(cells.loc[best.index, "mean"], best)
    others = [k for k in row_keys if k != "label"]
    reference = cells[cells["strategy_name"] == REFERENCE]
    ref_means = reference.groupby(["recipe", *others, "column"], dropna=False)["mean"].mean()
    gains = []
    for _, cell in cells.iterrows():
        lookup = (cell["recipe"], *(cell[k] for k in others), cell["column"])
        ref = _lookup(ref_means, lookup)
        if cell["strategy_name"] == REFERENCE or ref is None or np.isnan(cell["mean"]):
            gains.append(np.nan)
        else:
            gains.append(cell["mean"] - ref)
    cells["gain"] = gains
    return cells


def _lookup(series: pd.Series, key: tuple) -> float | None:
    for index, value in series.items():
        index = index if isinstance(index, tuple) else (index,)
        if len(index) == len(key) and all(_same(a, b) for a, b in zip(index, key, strict=True)):
            return None if np.isnan(value) else float(value)
    return None


def storage_text(obs: pd.DataFrame, row_keys: list[str]) -> dict[tuple, str]:
    """Measured row → "storage / budget" (per IPC where a row spans several)."""
    texts = {}
    for row, group in obs.groupby(row_keys, dropna=False, sort=False):
        row = row if isinstance(row, tuple) else (row,)
        parts = []
        by_ipc = group.groupby("ipc", dropna=False, sort=True)
        for ipc, part in by_ipc:
            storage, budget = part["storage"].max(), part["budget"].max()
            if _missing(storage) and _missing(budget):
                continue
            text = f"{_amount(storage)} / {_amount(budget) if not _missing(budget) else 'unbudgeted'}"
            parts.append(f"IPC {ipc}: {text}" if by_ipc.ngroups > 1 and not _missing(ipc) else text)
        texts[row] = "; ".join(parts)
    return texts


def _amount(value: Any) -> str:
    if _missing(value):
        return "—"
    value = float(value)
    return f"{value:,.0f}" if value.is_integer() else f"{value:,.1f}"


# ---- reported rows -------------------------------------------------------------------------------


def reported_cells(
    reported: pd.DataFrame, measured: pd.DataFrame, obs: pd.DataFrame, dataset: str, suite: str, row_keys
) -> pd.DataFrame:
    """Reported numbers of this dataset and suite whose row setting and column the table has."""
    rep = reported[(reported["dataset"] == dataset) & (reported["suite"] == suite)]
    rep = rep[rep["metric"] == "accuracy"]
    if rep.empty or measured.empty:
        return pd.DataFrame()
    columns = set(measured["column"])
    networks = set(obs["network"].dropna())
    ipcs = set(obs["ipc"].dropna().astype(int))
    several = len(networks) > 1
    rows = []
    for _, r in rep.iterrows():
        r_ipcs = [int(r["ipc"])] if not _missing(r["ipc"]) else sorted(ipcs)
        for ipc in r_ipcs:
            if suite == "standard":
                column = f"IPC {ipc}" + (f" · {r['network']}" if several else "")
                if not several and r["network"] not in networks:
                    continue
            elif suite == "cross-arch":
                column = r["network"]
            else:
                continue
            if column not in columns or ipc not in ipcs:
                continue
            cell = {"label": reported_label(r), "ipc": ipc, "network": r["network"], "column": column}
            order = measured.loc[measured["column"] == column, "order"].iloc[0]
            std = r["std"]
            text = f"{r['mean']:.1f}" + (f" ± {std:.1f}" if not _missing(std) else "")
            rows.append(
                cell
                | {
                    "order": order,
                    "strategy_name": r["strategy"],
                    "strategy": r["strategy"] + (f":{r['spec']}" if r["spec"] else ""),
                    "recipe": "reported",
                    "mean": r["mean"],
                    "std": std,
                    "n": np.nan,
                    "text": text,
                    "status": "reported",
                    "storage": np.nan,
                    "budget": np.nan,
                    "kind": "reported",
                    "best": False,
                    "gain": np.nan,
                    "source": f"{r['source']}, {r['table']}",
                    "note": r["note"],
                }
            )
    return pd.DataFrame(rows)


# ---- all tables ----------------------------------------------------------------------------------


def _row_sort_key(label: Any, name: Any) -> tuple:
    return (0 if name == REFERENCE else (2 if name in UNRANKED else 1), str(label))


def build_tables(records: list[dict[str, Any]], reported: pd.DataFrame | None = None) -> list[Table]:
    """Every leaderboard table, ordered by dataset, suite and profile."""
    if not records:
        return []
    reported = load_reported() if reported is None else reported
    frame = records_frame(records)
    tables = []
    for (dataset, suite, profile), part in frame.groupby(["dataset", "suite", "profile"], sort=True):
        row_keys = ROW_KEYS.get(suite, DEFAULT_ROW_KEYS)
        obs = observations(part, suite)
        if obs.empty:
            continue
        cells = mark_best_and_gain(aggregate(obs, row_keys), row_keys)
        cells["source"], cells["note"] = "measured", ""
        cells["row_order"] = [
            (_row_sort_key(lbl, nm), *(_num(c[k]) if k == "ipc" else str(c[k]) for k in row_keys[1:]))
            for lbl, nm, (_, c) in zip(cells["label"], cells["strategy_name"], cells.iterrows(), strict=True)
        ]
        rep = reported_cells(reported, cells, obs, dataset, suite, row_keys)
        if not rep.empty:
            rep["row_order"] = [
                ((3, str(c["label"])), *(_num(c[k]) if k == "ipc" else str(c[k]) for k in row_keys[1:]))
                for _, c in rep.iterrows()
            ]
            cells = pd.concat([cells, rep], ignore_index=True)
        cells = cells.sort_values(["row_order", "order"], kind="stable").reset_index(drop=True)
        columns = list(dict.fromkeys(cells.sort_values("order", kind="stable")["column"]))
        tables.append(Table(dataset, suite, profile, row_keys, columns, cells, storage_text(obs, row_keys)))
    return tables


def table_csv_frame(table: Table) -> pd.DataFrame:
    """The long data behind one table (measured and reported cells)."""
    columns = ["dataset", "suite", "profile", *table.row_keys, "column", "kind", "strategy",
               "strategy_name", "recipe", "mean", "std", "n", "status", "text", "best", "gain",
               "storage", "budget", "source", "note"]  # fmt: skip
    out = table.cells.copy()
    out["dataset"], out["suite"], out["profile"] = table.dataset, table.suite, table.profile
    out = out.loc[:, ~out.columns.duplicated()]
    return out[[c for c in dict.fromkeys(columns) if c in out.columns]]
