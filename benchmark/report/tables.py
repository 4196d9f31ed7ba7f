"""Tables from records: one per dataset × suite × profile, generic over what each suite declares.

Each table is first a long frame of *cells* (one per table row × column, measured and reported),
from which the text (``run``, ``show``), Markdown, HTML and CSV views are rendered. Rows, columns
and the figure kind come from the suite's :class:`~benchmark.suites.base.TableSpec` (a suite this
process does not know gets one ``accuracy`` column). Cells are aggregated by
:func:`benchmark.results.frame.aggregate`; published numbers of the registered sources whose row
setting and column the table has are kept as a block of their own, never ranked.

Ranks respect uncertainty (:func:`benchmark.report.contrast.rank_groups`, seeds as observations,
Holm-adjusted): within each column and row setting (the row keys other than the label), the methods
whose interval against the best does not exclude 0 share rank 1, and so on down; a row's rank is the
rank of its mean column rank; rows are sorted by it; ``best`` (bold) marks the top group.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from benchmark.paths import safe_name
from benchmark.report.contrast import REPLICATE, rank_groups
from benchmark.report.reported import load_reported, reported_label
from benchmark.results.frame import aggregate, is_percentage, mark_best_and_gain, missing, records_frame
from benchmark.results.record import Record
from benchmark.strategy import strategy_role

STORAGE = "storage / budget"
SOFT_MARK = " (soft labels)"  # the storage of rows whose buffers store soft labels (counted in it)
ROLE_ORDER = {"reference": 0, "method": 1, "upper_bound": 2}
RANK_LEVEL = 0.95
RANK_RULE = (
    "Ranks respect uncertainty. In each column (and IPC or network where those are rows), the method "
    "with the highest mean leads; every method whose 95 % Welch interval against it (distillation seeds "
    "as observations, Holm-adjusted over the comparisons with the leader) contains 0, or that has fewer "
    "than two seeds, shares rank 1 and is bold. The best method not in that group leads the next group, "
    "compared with the methods left, and so on; a rank counts the methods above it (1, 1, 3). A row's "
    "rank orders the mean of its column ranks; rows are sorted by it. Upper bounds and published numbers "
    "are never ranked."
)


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
    contrasts: list[dict[str, Any]] = field(default_factory=list)  # the rank rule's comparisons
    _index: dict | None = field(default=None, repr=False)

    @property
    def name(self) -> str:
        """The table's file name stem: a safe name whatever its records hold (benchmark.paths)."""
        return safe_name(f"{self.dataset}_{self.suite}_{self.profile}")

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
        """Ranked rows (measured, not upper bounds, with a value) → their rank within their setting:
        1 + the number of rows of that setting whose mean column rank is lower."""
        cells = self.cells[(self.cells["kind"] == "measured") & self.cells["rank"].notna()]
        average = {
            _key(row): float(np.mean(part["rank"]))
            for row, part in cells.groupby(self.row_keys, dropna=False, sort=False)
        }
        setting = {row: row[1:] for row in average}
        return {
            row: 1 + sum(
                setting[other] == setting[row] and value < mine and not math.isclose(value, mine)
                for other, value in average.items()
            )
            for row, mine in average.items()
        }

    def published_note(self) -> str:
        """What differs between the measured rows and the published block below them."""
        p = self.provenance
        epochs = ", ".join(str(e) for e in p.get("epochs", [])) or "unknown"
        seeds = len(p.get("seeds", []))
        sources = "; ".join(sorted(set(self.cells.loc[self.cells["kind"] == "reported", "source"]))) or "—"
        return (
            f"Published, other protocol (not ranked): {sources}. These come from the authors' own code, "
            "distillation and evaluation schedules and seeds; the measured rows above are this project's "
            f"{self.profile} profile (evaluation recipe {epochs} epochs, {seeds} distillation seed"
            f"{'s' if seeds != 1 else ''}, the last buffer evaluated). Compare like with like on the paper "
            "profile with `python -m benchmark compare`."
        )

    def text(self) -> str:
        """The plain-text view ``run`` and ``show`` print: the ranked rows, then the published block."""
        ranks = self.ranks()
        frame = self.frame()
        frame["rank"] = [ranks.get(_key(row), "—") for row in self.rows("measured")]
        out = frame.to_string()
        reported = self.rows("reported")
        if reported:
            data = [[self._text(row, column, "reported") for column in self.columns] for row in reported]
            index = [" · ".join(str(v) for v in row if not missing(v)) for row in reported]
            published = pd.DataFrame(data, index=pd.Index(index, name="published"), columns=self.columns)
            out += f"\n-- {self.published_note()}\n{published.to_string()}"
        return out

    def spread_note(self) -> str:
        """What ± of the measured rows is taken over (printed under a table); "" when no cell shows one."""
        cells = self.cells[(self.cells["kind"] == "measured") & (self.cells["n"] > 1)]
        if cells.empty:
            return ""
        networks = _span(int(n) for n in cells["n"])
        seeds = _span(len(s) for s in cells["seeds"] if isinstance(s, list))
        if self.suite == "continual":  # each class order is its own stream: an observation as a seed is
            return (
                f"± is the std (ddof 0) over a cell's {networks} evaluation networks: distillation seeds × "
                f"class orders × networks × repeats ({seeds} seed × order pair{'' if seeds == '1' else 's'} "
                "a cell); ranks and `contrast` compare the means of seed × order pairs."
            )
        return (
            f"± is the std (ddof 0) over a cell's {networks} evaluation networks: distillation seeds × "
            f"networks × repeats ({seeds} seed{'' if seeds == '1' else 's'} a cell); ranks and `contrast` "
            "compare seed means."
        )

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

    def _text(self, row: tuple, column: str, kind: str = "measured") -> str:
        cell = self.cell(row, column, kind)
        return "" if cell is None else str(cell["text"])


def _span(counts) -> str:
    """"9" for one count, "3–9" for several."""
    counts = sorted(set(counts))
    if not counts:
        return "?"
    return str(counts[0]) if len(counts) == 1 else f"{counts[0]}–{counts[-1]}"


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


def storage_text(
    obs: pd.DataFrame, row_keys: list[str], soft: frozenset[str] = frozenset()
) -> dict[tuple, str]:
    """Measured row → "storage / budget" (per IPC where a row spans several), marked ``SOFT_MARK``
    where a record of the row trained on soft labels (``soft``: their keys; stored, so counted)."""
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
            if soft & set(part["key"].dropna()):
                text += SOFT_MARK
            parts.append(f"IPC {ipc:g}: {text}" if by_ipc.ngroups > 1 and not missing(ipc) else text)
        texts[row] = "; ".join(parts)
    return texts


def soft_label_cells(
    obs: pd.DataFrame, cells: pd.DataFrame, row_keys: list[str], soft: frozenset[str]
) -> list[bool]:
    """Per measured cell: whether a record of it trained on soft labels (``soft``: their keys)."""
    marked = {
        _key(values)
        for values, group in obs.groupby([*row_keys, "column"], dropna=False, sort=False)
        if soft & set(group["key"].dropna())
    }
    return [_key([*(c[k] for k in row_keys), c["column"]]) in marked for _, c in cells.iterrows()]


# ---- all tables ----------------------------------------------------------------------------------


def seed_observations(obs: pd.DataFrame, row_keys: list[str]) -> dict[tuple, list[float]]:
    """(row, column) → one value per replicate (a distillation seed; with its class order in the continual
    suite): the mean of its ok observations (percent for accuracies), the unit the rank rule and
    ``contrast`` compare."""
    ok = obs[(obs["status"] == "ok") & obs["value"].notna()]
    seeds: dict[tuple, list[float]] = {}
    for values, group in ok.groupby([*row_keys, "column", *REPLICATE], dropna=False, sort=True):
        scale = 100 if is_percentage(group["metric"].iloc[0]) else 1
        row, column = _key(values[: len(row_keys)]), values[len(row_keys)]
        seeds.setdefault((row, column), []).append(float(group["value"].astype(float).mean()) * scale)
    return seeds


def rank_columns(
    cells: pd.DataFrame, row_keys: list[str], seeds: dict[tuple, list[float]], unranked: tuple[str, ...] = ()
):
    """Each ranked cell's rank in its column and row setting (:func:`rank_groups`), ``best`` for the top
    group, its rank by mean alone (``mean_rank``: the order within a shared rank), and the comparisons
    behind them; the ``unranked`` columns get none."""
    cells = cells.copy()
    settings = [k for k in row_keys if k != "label"]
    cells["rank"], cells["mean_rank"], cells["best"] = np.nan, np.nan, False
    ranked_column = ~cells["column"].isin(unranked)
    rankable = cells[cells["mean"].notna() & (cells["role"] != "upper_bound") & ranked_column]
    contrasts = []
    for values, part in rankable.groupby(["column", *settings], dropna=False, sort=False):
        rows = {i: _key(part.loc[i, k] for k in row_keys) for i in part.index}
        observations = {i: seeds.get((row, values[0]), [part.at[i, "mean"]]) for i, row in rows.items()}
        ranks, comparisons = rank_groups(observations, RANK_LEVEL)
        means = part["mean"].to_numpy(dtype=float)
        for i, rank in ranks.items():
            cells.at[i, "rank"], cells.at[i, "best"] = rank, rank == 1
            cells.at[i, "mean_rank"] = 1 + int(np.sum(means > cells.at[i, "mean"]))
        setting = dict(zip(settings, values[1:], strict=True))
        contrasts += [
            c | {"column": values[0], "setting": setting, "leader": rows[c["leader"]][0],
                 "other": rows[c["other"]][0], "leader_rank": ranks[c["leader"]]}
            for c in comparisons
        ]  # fmt: skip
    return cells, contrasts


def _row_order(cell: pd.Series, row_keys: list[str], ranks: dict[tuple, int], by_mean: dict) -> tuple:
    """Published rows last; then by setting, rank (unranked last), the mean rank by means alone, role."""
    setting = tuple(_num(cell[k]) if k == "ipc" else str(cell[k]) for k in row_keys[1:])
    row = _key(cell[k] for k in row_keys)
    return (cell["kind"] == "reported", setting, ranks.get(row, math.inf), by_mean.get(row, math.inf),
            ROLE_ORDER.get(cell["role"], 1), str(cell["label"]))  # fmt: skip


def build_tables(records: list[Record], reported: pd.DataFrame | None = None) -> list[Table]:
    """Every table, ordered by dataset, suite and profile; rows sorted by setting, then rank."""
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
        seeds = seed_observations(measured, row_keys)
        cells = mark_best_and_gain(aggregate(measured, row_keys), row_keys)
        unranked = cells["column"].isin(spec.unranked)
        cells.loc[unranked, "best"], cells.loc[unranked, "gain"] = False, np.nan
        cells, contrasts = rank_columns(cells, row_keys, seeds, spec.unranked)
        cells["seeds"] = [seeds.get((_key(c[k] for k in row_keys), c["column"])) for _, c in cells.iterrows()]
        cells["source"], cells["note"], cells["caution"] = "measured", "", ""
        keys = set(part["key"].dropna())
        soft = frozenset(r.key for r in records if r.soft_labels and r.key in keys)
        cells["soft_labels"] = soft_label_cells(measured, cells, row_keys, soft)
        published = obs[obs["status"] == "reported"]
        if not published.empty:
            cells = pd.concat(
                [cells, reported_cells(published, set(cells["column"]), row_keys)], ignore_index=True
            )
        table = Table(dataset, suite, profile, row_keys, [], cells, storage_text(measured, row_keys, soft),
                      spec.figure, spec.axis_label, provenance([r for r in records if r.key in keys]),
                      contrasts)  # fmt: skip
        ranks = table.ranks()
        ranked = cells[cells["rank"].notna()]
        by_mean = {_key(row): float(part["mean_rank"].mean())
                   for row, part in ranked.groupby(row_keys, dropna=False, sort=False)}  # fmt: skip
        cells["row_order"] = [_row_order(c, row_keys, ranks, by_mean) for _, c in cells.iterrows()]
        table.cells = cells.sort_values(["row_order", "order"], kind="stable").reset_index(drop=True)
        table.columns = list(dict.fromkeys(table.cells.sort_values("order", kind="stable")["column"]))
        tables.append(table)
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
        "epochs": sorted({e for r in records if (e := (r.config.get("eval_recipe") or {}).get("epochs"))}),
        "seeds": sorted({r.config["distill_seed"] for r in records
                         if r.config.get("distill_seed") is not None}),  # fmt: skip
    }


def table_csv_frame(table: Table) -> pd.DataFrame:
    """The long data behind one table (measured and reported cells)."""
    columns = ["dataset", "suite", "profile", *table.row_keys, "column", "kind", "spec", "strategy",
               "role", "recipe", "mean", "std", "n", "status", "text", "best", "gain", "reference", "storage",
               "budget", "soft_labels", "source", "note"]  # fmt: skip
    out = table.cells.copy()
    out["dataset"], out["suite"], out["profile"] = table.dataset, table.suite, table.profile
    out = out.loc[:, ~out.columns.duplicated()]
    out = out[[c for c in dict.fromkeys(columns) if c in out.columns]]
    units = {"mean": "mean_pct", "std": "std_pct", "gain": "gain_pts", "storage": "storage_floats",
             "budget": "budget_floats"}  # fmt: skip
    return out.rename(columns=units)
