"""Results: records, the store that holds them, and their frames (the Python API, docs/api.md).

``load(folder)`` turns a results folder into one long pandas DataFrame (a row per record and metric);
``table(folder, suite)`` gives the table ``show`` prints, as numbers::

    from benchmark.results import load, table
    frame = load("results")
    frame[frame.metric == "accuracy"].pivot_table(index="label", columns="ipc", values="value_pct")
    table("results", "standard", dataset="digits")          # mean, std (ddof 0), n per column
"""

from __future__ import annotations

STATISTICS = ("mean", "std", "n", "storage", "budget")


def select_records(records, suite: str | None = None, profile: str | None = None, dataset: str | None = None):
    """The records of ``suite``, ``profile`` and ``dataset`` (None: any)."""
    wanted = {"suite": suite, "profile": profile, "dataset": dataset}
    return [r for r in records if all(v is None or r.config.get(k) == v for k, v in wanted.items())]


def load(folder="results", suite: str | None = None, profile: str | None = None, dataset: str | None = None):
    """Every valid record under ``folder`` (optionally of one suite, profile and dataset) as a
    DataFrame: :func:`benchmark.results.frame.results_frame` (accuracies in percent, steps 1…T,
    provenance). Its columns and units: docs/api.md."""
    from benchmark.results.frame import results_frame
    from benchmark.results.store import ResultStore

    records = ResultStore(folder, read_only=True).records(suite)
    return results_frame(select_records(records, suite, profile, dataset))


def table(folder="results", suite: str = "standard", dataset: str | None = None, profile: str | None = None):
    """The table ``show`` prints for one suite, dataset and profile, as numbers.

    Index: the table's row keys (``label``, and ``ipc`` / ``network`` where the suite's table has
    them), rows in ``show``'s order. Columns: (table column, statistic) with the statistics ``mean``
    and ``std`` over the evaluation networks (ddof 0, the population std the tables print; pandas'
    ``.std()`` defaults to ddof 1), ``n`` (networks), ``storage`` and ``budget`` (float32
    equivalents). Accuracies are in percent. Built by the same code as ``show``
    (:func:`benchmark.report.tables.build_tables`); published numbers are left out. When the folder
    holds this suite for several datasets or profiles, name one."""
    import pandas as pd

    from benchmark.errors import UserInputError
    from benchmark.report.tables import build_tables
    from benchmark.results.store import ResultStore

    records = select_records(ResultStore(folder, read_only=True).records(suite), suite, profile, dataset)
    tables = build_tables(records)
    if not tables:
        asked = ", ".join(f"{k} {v!r}" for k, v in (("dataset", dataset), ("profile", profile)) if v)
        asked = f" with {asked}" if asked else ""
        raise UserInputError(f"no records of suite {suite!r}{asked} under {folder}")
    if len(tables) > 1:
        found = "; ".join(f"dataset={t.dataset!r}, profile={t.profile!r}" for t in tables)
        raise UserInputError(
            f"{folder} holds {len(tables)} {suite} tables ({found}); pass dataset= and profile="
        )
    (shown,) = tables
    cells = shown.cells[shown.cells["kind"] == "measured"]
    wide = cells.set_index([*shown.row_keys, "column"])[list(STATISTICS)].unstack("column")
    wide = wide.swaplevel(0, 1, axis=1).reindex(
        columns=[(column, stat) for column in shown.columns for stat in STATISTICS]
    )
    rows = shown.rows("measured")
    keys = shown.row_keys
    order = (
        pd.MultiIndex.from_tuples(rows, names=keys)
        if len(keys) > 1
        else pd.Index([r[0] for r in rows], name=keys[0])
    )
    wide = wide.reindex(order)
    wide.columns.names = ["column", "statistic"]
    wide.attrs["title"] = shown.title
    return wide
