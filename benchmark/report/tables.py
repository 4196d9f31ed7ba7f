"""Tables from records: one per dataset × suite × profile, generic over what each suite declares.

Each table is first a long frame of *cells* (one per table row × column, measured and reported),
from which the text (``run``, ``show``), Markdown, HTML and CSV views are rendered. Rows, columns
and the figure kind come from the suite's :class:`~benchmark.suites.base.TableSpec` (a suite this
process does not know gets one ``accuracy`` column). Cells are aggregated by
:func:`benchmark.results.frame.aggregate`; published numbers of the registered sources whose row
setting and column the table has are added below the measured rows, never ranked.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from benchmark.report.reported import load_reported, reported_label
from benchmark.results.frame import aggregate, mark_best_and_gain, missing, records_frame
from benchmark.results.record import Record
from benchmark.strategy import strategy_role

STORAGE = "storage / budget"
ROLE_ORDER = {"reference": 0, "method": 1, "upper_bound": 2}


def table_spec(suite: str):
    """The suite's declared table; a generic one for a suite not registered in this process."""
    from benchmark.errors import UnknownNameError
    from benchmark.registries import SUITES
    from benchmark.suites.base import TableSpec

    try:
        return SUITES.get(suite).table
    except UnknownNameError:
        return TableSpec()


@dataclass
class Table:
    dataset: str
    suite: str
    profile: str
    row_keys: list[str]
    columns: list[str]
    cells: pd.DataFrame  # long: row keys, column, mean, std, n, text, best, gain, kind, …
    storage: dict[tuple, str] = field(default_factory=dict)  # measured row → "storage / budget"
    figure: str | None = None
    axis_label: str = ""
    provenance: dict[str, Any] = field(default_factory=dict)  # commits, dates, commands of its records
    _index: dict | None = field(default=None, repr=False)

    @property
    def name(self) -> str:
        return f"{self.dataset}_{self.suite}_{self.profile}"

    @property
    def title(self) -> str:
        return f"{self.dataset} · {self.suite} · {self.profile}"

    @property
    def references(self) -> list[str]:
        """Labels of the reference rows the gains are measured against."""
        names = self.cells.loc[self.cells["kind"] == "measured", "reference"].dropna()
        return sorted({n for n in names if n})

    @property
    def cautions(self) -> list[str]:
        """The cautions of the sources whose numbers this table shows."""
        reported = self.cells[self.cells["kind"] == "reported"]
        return sorted({c for c in reported.get("caution", pd.Series(dtype=str)).dropna() if c})

    def ranks(self) -> dict[tuple, int]:
        """Measured, ranked rows (not upper bounds) → 1, 2, …: by the mean of the row's rank in each
        column it has a value in (ties share a rank), the way benchmark tables rank methods."""
        cells = self.cells[(self.cells["kind"] == "measured") & (self.cells["role"] != "upper_bound")]
        cells = cells[cells["mean"].notna()]
        if cells.empty:
            return {}
        column_rank = cells.groupby("column")["mean"].rank(ascending=False, method="min")
        per_row: dict[tuple, list[float]] = {}
        for (_, cell), rank in zip(cells.iterrows(), column_rank, strict=True):
            per_row.setdefault(_key(cell[k] for k in self.row_keys), []).append(float(rank))
        average = {row: sum(values) / len(values) for row, values in per_row.items()}
        return {row: 1 + sum(other < mine for other in average.values()) for row, mine in average.items()}

    def strategy_of(self, row: tuple) -> str | None:
        """The registered strategy name behind a row (for its paper and code links)."""
        cells = self.cells[self.cells["kind"] == "measured"]
        names = cells.loc[cells[self.row_keys[0]] == row[0], "strategy"]
        return None if names.empty else str(names.iloc[0])

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

    def frame(self) -> pd.DataFrame:
        """The measured rows as a wide DataFrame: row keys as index, the columns, storage / budget."""
        rows = self.rows("measured")
        data = [
            [self._text(row, column) for column in self.columns] + [self.storage.get(row, "")] for row in rows
        ]
        index = pd.MultiIndex.from_tuples(rows, names=self.row_keys) if len(self.row_keys) > 1 else (
            pd.Index([r[0] for r in rows], name=self.row_keys[0])
        )  # fmt: skip
        return pd.DataFrame(data, index=index, columns=[*self.columns, STORAGE])

    def _text(self, row: tuple, column: str) -> str:
        cell = self.cell(row, column)
        return "" if cell is None else str(cell["text"])


def _key(values) -> tuple:
    return tuple(None if missing(v) else v for v in values)


def _num(value: Any) -> float:
    return math.inf if missing(value) else float(value)


# ---- published numbers as rows of the records frame ------------------------------------------------


def reported_rows(reported: pd.DataFrame, dataset: str, suite: str, measured: pd.DataFrame) -> pd.DataFrame:
    """This table's published accuracies shaped like records-frame rows (status ``reported``); a row
    without an IPC (an upper bound) stands at every measured IPC."""
    rep = reported[(reported["dataset"] == dataset) & (reported["suite"] == suite)]
    rep = rep[rep["metric"] == "accuracy"]
    if rep.empty or measured.empty:
        return pd.DataFrame()
    ipcs = sorted(int(i) for i in measured["ipc"].dropna().unique())
    rows = []
    for _, r in rep.iterrows():
        for ipc in [int(r["ipc"])] if not missing(r["ipc"]) else ipcs:
            if ipc not in ipcs:
                continue
            rows.append(
                {
                    "key": None, "dataset": dataset, "suite": suite, "spec": r["strategy"]
                    + (f":{r['spec']}" if r["spec"] else ""), "strategy": r["strategy"],
                    "role": strategy_role(r["strategy"]), "label": reported_label(r), "recipe": "reported",
                    "ipc": ipc, "network": r["network"], "metric": "accuracy", "value": r["mean"] / 100,
                    "reported_std": r["std"], "status": "reported", "source": f"{r['source']}, {r['table']}",
                    "note": r["note"], "caution": r["caution"],
                }
            )  # fmt: skip
    return pd.DataFrame(rows)


def reported_cells(obs: pd.DataFrame, columns: set[str], row_keys: list[str]) -> pd.DataFrame:
    """One cell per published number whose column the measured table has."""
    obs = obs[obs["column"].isin(columns)]
    cells = []
    for _, r in obs.iterrows():
        std = r["reported_std"]
        cells.append(
            {key: r[key] for key in row_keys}
            | {
                "column": r["column"], "order": r["order"], "axis": r["axis"], "spec": r["spec"],
                "strategy": r["strategy"], "role": r["role"], "recipe": "reported", "ipc": r["ipc"],
                "network": r["network"], "mean": r["value"] * 100, "std": std, "n": np.nan,
                "text": f"{r['value'] * 100:.1f}" + ("" if missing(std) else f" ± {std:.1f}"),
                "status": "reported", "storage": np.nan, "budget": np.nan, "kind": "reported",
                "best": False, "gain": np.nan, "reference": "", "source": r["source"], "note": r["note"],
                "caution": r["caution"],
            }
        )  # fmt: skip
    return pd.DataFrame(cells)


# ---- storage per row -------------------------------------------------------------------------------


def _amount(value: Any) -> str:
    if missing(value):
        return "—"
    value = float(value)
    return f"{value:,.0f}" if value.is_integer() else f"{value:,.1f}"


def storage_text(obs: pd.DataFrame, row_keys: list[str]) -> dict[tuple, str]:
    """Measured row → "storage / budget" (per IPC where a row spans several)."""
    texts = {}
    for row, group in obs.groupby(row_keys, dropna=False, sort=False):
        row = row if isinstance(row, tuple) else (row,)
        parts = []
        by_ipc = group.groupby("ipc", dropna=False, sort=True)
        for ipc, part in by_ipc:
            storage, budget = part["storage"].max(), part["budget"].max()
            if missing(storage) and missing(budget):
                continue
            text = f"{_amount(storage)} / {_amount(budget) if not missing(budget) else 'unbudgeted'}"
            parts.append(f"IPC {ipc:g}: {text}" if by_ipc.ngroups > 1 and not missing(ipc) else text)
        texts[row] = "; ".join(parts)
    return texts


# ---- all tables ----------------------------------------------------------------------------------


def _row_order(cell: pd.Series, row_keys: list[str]) -> tuple:
    kind = 3 if cell["kind"] == "reported" else ROLE_ORDER.get(cell["role"], 1)
    rest = tuple(_num(cell[k]) if k == "ipc" else str(cell[k]) for k in row_keys[1:])
    return ((kind, str(cell["label"])), *rest)


def build_tables(records: list[Record], reported: pd.DataFrame | None = None) -> list[Table]:
    """Every table, ordered by dataset, suite and profile."""
    if not records:
        return []
    reported = load_reported() if reported is None else reported
    frame = records_frame(records)
    tables = []
    for (dataset, suite, profile), part in frame.groupby(["dataset", "suite", "profile"], sort=True):
        spec = table_spec(suite)
        row_keys = list(spec.rows)
        rep = reported_rows(reported, dataset, suite, part)
        obs = spec.observe(pd.concat([part, rep], ignore_index=True) if not rep.empty else part)
        if obs.empty:
            continue
        measured = obs[obs["status"] != "reported"]
        if measured.empty:
            continue
        cells = mark_best_and_gain(aggregate(measured, row_keys), row_keys)
        cells["source"], cells["note"], cells["caution"] = "measured", "", ""
        published = obs[obs["status"] == "reported"]
        if not published.empty:
            cells = pd.concat(
                [cells, reported_cells(published, set(cells["column"]), row_keys)], ignore_index=True
            )
        cells["row_order"] = [_row_order(c, row_keys) for _, c in cells.iterrows()]
        cells = cells.sort_values(["row_order", "order"], kind="stable").reset_index(drop=True)
        columns = list(dict.fromkeys(cells.sort_values("order", kind="stable")["column"]))
        keys = set(part["key"].dropna())
        tables.append(
            Table(dataset, suite, profile, row_keys, columns, cells, storage_text(measured, row_keys),
                  spec.figure, spec.axis_label, provenance([r for r in records if r.key in keys]))
        )  # fmt: skip
    return tables


def provenance(records: list[Record]) -> dict[str, Any]:
    """What made a table's records: commits, the dates, versions and the commands to run again."""
    created = sorted(r.created for r in records if r.created)
    return {
        "commits": sorted({str(r.code.get("git_commit"))[:12] for r in records if r.code.get("git_commit")}),
        "versions": sorted({str(r.code.get("version")) for r in records if r.code.get("version")}),
        "first": created[0][:10] if created else "",
        "last": created[-1][:10] if created else "",
        "commands": sorted({r.command for r in records if r.command}),
        "records": len(records),
    }


def table_csv_frame(table: Table) -> pd.DataFrame:
    """The long data behind one table (measured and reported cells)."""
    columns = ["dataset", "suite", "profile", *table.row_keys, "column", "kind", "spec", "strategy",
               "role", "recipe", "mean", "std", "n", "status", "text", "best", "gain", "reference", "storage",
               "budget", "source", "note"]  # fmt: skip
    out = table.cells.copy()
    out["dataset"], out["suite"], out["profile"] = table.dataset, table.suite, table.profile
    out = out.loc[:, ~out.columns.duplicated()]
    out = out[[c for c in dict.fromkeys(columns) if c in out.columns]]
    units = {"mean": "mean_pct", "std": "std_pct", "gain": "gain_pts", "storage": "storage_floats",
             "budget": "budget_floats"}  # fmt: skip
    return out.rename(columns=units)
