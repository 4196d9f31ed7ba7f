"""Markdown and self-contained HTML views of the leaderboard tables (no network, no external URL
except the methods' own paper and code links).

Both views are rendered from one view model (:func:`page_view`): a summary of each table's headline
contrasts, the rank rule, and per table its ranked rows (sorted by rank), the published numbers in a
block of their own, the gains, a provenance line and the commands that made the records (paths made
relative). Markdown is written with :mod:`benchmark.report.escape`; the HTML page is a jinja2
template (``templates/leaderboard.html.j2``, autoescape on) with filters (dataset, suite, profile,
IPC, network, strategy) whose script recomputes the ranks from the embedded per-seed observations and
keeps its state in the URL's fragment.
"""

from __future__ import annotations

import base64
import math
import shlex
from pathlib import Path
from typing import Any

from benchmark.report.escape import html_environment, markdown_code, markdown_link, markdown_text
from benchmark.report.tables import RANK_LEVEL, RANK_RULE, Table
from benchmark.results.frame import missing

HEADER_NAMES = {"label": "Strategy", "ipc": "IPC", "network": "Network"}
STORAGE = "Storage / budget"
EXPLANATION = (
    "Cells are mean ± std (percent, ddof 0) over the n evaluation networks of the cell (seeds × repeats; "
    "for continual steps also class orders). Upper bounds (unbudgeted strategies) are shown but never "
    "ranked. Storage is in float32 equivalents (the one learned scalar lr is exempt). The gain is the "
    "difference of means, in points, over the strategy whose role is the reference, at the same budget "
    "and setting."
)
SUMMARY_COLUMNS = 3  # headline columns per table: those off the table's axis (e.g. not each step)
SUMMARY_CONTRASTS = 6


# ---- the view model --------------------------------------------------------------------------------


def links(table: Table, row: tuple) -> dict[str, str]:
    """The ``paper`` and ``code`` links the row's strategy registered (none if not registered here)."""
    from benchmark.errors import UnknownNameError
    from benchmark.registries import STRATEGIES

    name = table.strategy_of(row)
    try:
        info = STRATEGIES.info(name) if name else {}
    except UnknownNameError:
        return {}
    return {kind: info[kind] for kind in ("paper", "code") if info.get(kind)}


def provenance_text(table: Table) -> str:
    p = table.provenance
    dates = p.get("first", "") + (f" – {p['last']}" if p.get("last") and p["last"] != p.get("first") else "")
    commits = ", ".join(p.get("commits", [])) or "unknown"
    return (
        f"Profile {table.profile} · {p.get('records', 0)} records · made {dates or 'on unknown dates'} · "
        f"commit {commits} · version {', '.join(p.get('versions', [])) or 'unknown'}"
    )


def portable_command(command: str, root: Path | None) -> str:
    """A command with its absolute paths made relative: to the output folder where they lie in it, else
    to the working directory, else to the home folder (``~/…``), else shortened to ``.../parent/name``."""
    try:
        words = shlex.split(command)
    except ValueError:
        return command
    places = [(Path(root).resolve(), "")] if root is not None else []
    places += [(Path.cwd().resolve(), ""), (Path.home().resolve(), "~/")]
    out = []
    for word in words:
        prefix, _, value = word.rpartition("=") if word.startswith("--") and "=" in word else ("", "", word)
        path = Path(value)
        if path.is_absolute():
            value = _relative(path, places)
        out.append(f"{prefix}={value}" if prefix else value)
    return shlex.join(out)


def _relative(path: Path, places: list[tuple[Path, str]]) -> str:
    for place, mark in places:
        try:
            rest = path.relative_to(place).as_posix()
        except ValueError:
            continue
        return (mark + rest) if mark else (rest or ".")
    return ".../" + "/".join(path.parts[-2:])


def _number(value: Any) -> int | None:
    return None if missing(value) else int(value)


def _setting(table: Table, row: tuple) -> str:
    return " · ".join(str(v) for v in row[1:] if not missing(v))


def _row_view(table: Table, row: tuple, ranks: dict[tuple, int]) -> dict[str, Any]:
    values = dict(zip(table.row_keys, row, strict=True))
    key = tuple(None if missing(v) else v for v in row)
    cells, seeds, means = [], [], []
    for column in table.columns:
        cell = table.cell(row, column)
        text = "" if cell is None else str(cell["text"])
        n = "" if cell is None or missing(cell["n"]) or not cell["n"] else str(int(cell["n"]))
        ranked = cell is not None and not missing(cell["rank"])
        cells.append({"text": text, "best": bool(cell is not None and cell["best"]), "n": n})
        seeds.append(list(cell["seeds"]) if ranked and isinstance(cell["seeds"], list) else None)
        means.append(float(cell["mean"]) if ranked else None)
    return {
        "rank": ranks.get(key),
        "label": "" if missing(row[0]) else str(row[0]),
        "keys": ["" if missing(v) else str(v) for v in row[1:]],
        "links": links(table, row),
        "cells": cells,
        "storage": table.storage.get(row, ""),
        "ipc": _number(values["ipc"]) if "ipc" in values else None,
        "network": values.get("network"),
        "setting": _setting(table, row),
        "seeds": seeds,
        "means": means,
    }


def _gain_text(table: Table, row: tuple, column: str) -> str:
    cell = table.cell(row, column)
    return "" if cell is None or missing(cell["gain"]) else f"{cell['gain']:+.2f}"


def _column_view(table: Table, column: str) -> dict[str, Any]:
    """A column's IPC and network, where one value holds for all its cells (for the filters)."""
    cells = table.cells[(table.cells["column"] == column) & (table.cells["kind"] == "measured")]
    view: dict[str, Any] = {"name": column, "ipc": None, "network": None}
    for key in ("ipc", "network"):
        found = {str(int(v)) if key == "ipc" else str(v) for v in cells[key].dropna()}
        if len(found) == 1 and key not in table.row_keys:
            view[key] = found.pop()
    return view


def _interval(c: dict[str, Any]) -> str:
    if math.isnan(c["ci_low"]):
        return f"{c['leader']} − {c['other']} {c['difference']:+.2f} (too few seeds for an interval)"
    return (
        f"{c['leader']} − {c['other']} {c['difference']:+.2f} [{c['ci_low']:+.2f}, {c['ci_high']:+.2f}] "
        f"({c['verdict']})"
    )


def headlines(table: Table) -> list[str]:
    """One line per headline column and setting: the top group and the leader against each other row."""
    off_axis = [c for c in table.columns if _off_axis(table, c)] or table.columns
    lines = []
    for column in off_axis[:SUMMARY_COLUMNS]:
        found = [c for c in table.contrasts if c["column"] == column and c["leader_rank"] == 1]
        settings = list(dict.fromkeys(tuple(c["setting"].items()) for c in found))
        for setting in settings:
            mine = [c for c in found if tuple(c["setting"].items()) == setting]
            top = [mine[0]["leader"]] + [c["other"] for c in mine if c["p_holm"] != c["p_holm"] or
                                         not c["p_holm"] < 1 - RANK_LEVEL]  # fmt: skip
            where = ", ".join(f"{HEADER_NAMES.get(k, k)} {v}" for k, v in setting)
            shown = "; ".join(_interval(c) for c in mine[:SUMMARY_CONTRASTS])
            more = f"; {len(mine) - SUMMARY_CONTRASTS} more" if len(mine) > SUMMARY_CONTRASTS else ""
            lines.append(
                f"{column}{f' ({where})' if where else ''}: top group {', '.join(top)}. {shown}{more}."
            )
    return lines


def _off_axis(table: Table, column: str) -> bool:
    axis = table.cells.loc[table.cells["column"] == column, "axis"]
    return bool(axis.isna().all())


def table_view(table: Table, root: Path | None, index: int) -> dict[str, Any]:
    ranks = table.ranks()
    rows = [_row_view(table, row, ranks) for row in table.rows("measured")]
    reference_rows = {row for row in table.rows("measured") if _role(table, row) == "reference"}
    gains = [
        {"row": view, "gains": [_gain_text(table, row, column) for column in table.columns]}
        for row, view in zip(table.rows("measured"), rows, strict=True)
        if row not in reference_rows
    ]
    published = [
        {
            "label": "" if missing(row[0]) else str(row[0]),
            "keys": ["" if missing(v) else str(v) for v in row[1:]],
            "cells": [_reported_text(table, row, column) for column in table.columns],
            "ipc": _number(dict(zip(table.row_keys, row, strict=True)).get("ipc")),
            "network": dict(zip(table.row_keys, row, strict=True)).get("network"),
        }
        for row in table.rows("reported")
    ]
    return {
        "id": f"table-{index}",
        "title": table.title,
        "dataset": table.dataset,
        "suite": table.suite,
        "profile": table.profile,
        "key_names": [HEADER_NAMES.get(k, k) for k in table.row_keys[1:]],
        "columns": [_column_view(table, column) for column in table.columns],
        "rows": rows,
        "published": published,
        "published_note": table.published_note() if published else "",
        "cautions": table.cautions,
        "references": ", ".join(table.references),
        "gains": gains if any(g for item in gains for g in item["gains"]) else [],
        "provenance": provenance_text(table),
        "commands": [portable_command(c, root) for c in table.provenance.get("commands", [])],
        "headlines": headlines(table),
    }


def _role(table: Table, row: tuple) -> str | None:
    cells = [table.cell(row, column) for column in table.columns]
    return next((str(c["role"]) for c in cells if c is not None), None)


def _reported_text(table: Table, row: tuple, column: str) -> str:
    cell = table.cell(row, column, "reported")
    return "" if cell is None else str(cell["text"])


def rank_data(view: dict[str, Any]) -> dict[str, Any]:
    """What the page's script needs to recompute a table's ranks for the rows and columns shown."""
    return {
        "level": RANK_LEVEL,
        "rows": [{"setting": r["setting"], "seeds": r["seeds"], "means": r["means"]} for r in view["rows"]],
    }


def _figure_view(figure: dict[str, Any], embed: bool) -> dict[str, Any]:
    view = {k: figure.get(k) for k in ("title", "dataset", "suite", "profile", "label", "ipc", "width")}
    view["ipc"] = None if view["ipc"] is None else str(view["ipc"])
    if embed:
        view["src"] = "data:image/png;base64," + base64.b64encode(Path(figure["png"]).read_bytes()).decode()
    return view


def page_view(tables: list[Table], root: Path | None) -> dict[str, Any]:
    views = [table_view(table, root, i) for i, table in enumerate(tables)]
    cautions = sorted({c for t in tables for c in t.cautions})
    return {"tables": views, "cautions": cautions, "explanation": EXPLANATION, "rule": RANK_RULE}


# ---- Markdown ------------------------------------------------------------------------------------


def _md_table(header: list[str], rows: list[list[str]]) -> str:
    """A Markdown table of cells that are already Markdown (escaped text and our own markup)."""
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def _md_all(texts) -> list[str]:
    return [markdown_text(t) for t in texts]


def markdown_table(view: dict[str, Any]) -> str:
    header = _md_all(["Rank", "Strategy", *view["key_names"], *(c["name"] for c in view["columns"]), STORAGE])
    rows = []
    for row in view["rows"]:
        anchors = [markdown_link(kind, url) for kind, url in row["links"].items()]
        label = " ".join([markdown_text(row["label"]), *(a for a in anchors if a)])
        cells = []
        for cell in row["cells"]:
            shown = f"**{markdown_text(cell['text'])}**" if cell["best"] and cell["text"] else (
                markdown_text(cell["text"])
            )  # fmt: skip
            cells.append(f"{shown} (n={cell['n']})" if cell["n"] else shown)
        rank = str(row["rank"]) if row["rank"] else "—"
        rows.append([rank, label, *_md_all(row["keys"]), *cells, markdown_text(row["storage"])])
    return _md_table(header, rows)


def markdown_published(view: dict[str, Any]) -> str:
    header = _md_all(["Published", *view["key_names"], *(c["name"] for c in view["columns"])])
    return _md_table(header, [_md_all([r["label"], *r["keys"], *r["cells"]]) for r in view["published"]])


def markdown_gain_table(view: dict[str, Any]) -> str:
    header = _md_all(["Strategy", *view["key_names"], *(f"Δ {c['name']}" for c in view["columns"])])
    rows = [_md_all([g["row"]["label"], *g["row"]["keys"], *g["gains"]]) for g in view["gains"]]
    return _md_table(header, rows)


def render_markdown(
    tables: list[Table], figures: list[dict[str, Any]], notes: list[str], root: Path, galleries=()
) -> str:
    page = page_view(tables, root)
    out = ["# Leaderboard", ""]
    if page["tables"]:
        out += ["## Summary", ""]
        for view in page["tables"]:
            out += [f"- **{markdown_text(view['title'])}**"]
            out += [f"  - {markdown_text(line)}" for line in view["headlines"]]
        out += [""]
    out += [markdown_text(EXPLANATION), "", markdown_text(RANK_RULE), ""]
    if page["cautions"]:
        out += ["**Published numbers** (their own block below each table, never ranked). "
                + markdown_text(" ".join(page["cautions"])), ""]  # fmt: skip
    if not tables:
        out += ["No records found.", ""]
    for view in page["tables"]:
        out += [f"## {markdown_text(view['title'])}", "", markdown_text(view["provenance"]), ""]
        if view["commands"]:
            out += ["Made by:", "", *[markdown_code(command) for command in view["commands"]], ""]
        out += [markdown_table(view), ""]
        if view["published"]:
            out += [markdown_text(view["published_note"]), "", markdown_published(view), ""]
        if view["gains"]:
            out += [
                markdown_text(f"Gain over {view['references']} (points), {view['title']}:"),
                "",
                markdown_gain_table(view),
                "",
            ]
    for title, items in (("Figures", figures), ("Buffers", galleries)):
        if items:
            out += [f"## {title}", ""]
            for figure in items:
                rel = Path(figure["png"]).relative_to(root).as_posix()
                caption = markdown_text(figure["title"])
                out += [f"![{caption}]({markdown_text(rel)})", "", f"*{caption}*", ""]
    if notes:
        out += ["## Notes", ""] + [f"- {markdown_text(note)}" for note in notes] + [""]
    return "\n".join(out)


# ---- HTML ----------------------------------------------------------------------------------------


def _filter_options(page: dict[str, Any]) -> dict[str, list[str]]:
    options: dict[str, set[str]] = {k: set() for k in ("dataset", "suite", "profile", "ipc", "network")}
    strategies: dict[str, None] = {}
    for view in page["tables"]:
        for key in ("dataset", "suite", "profile"):
            options[key].add(view[key])
        for item in [*view["rows"], *view["columns"]]:
            if item.get("ipc") is not None:
                options["ipc"].add(str(item["ipc"]))
            if item.get("network") is not None:
                options["network"].add(str(item["network"]))
        strategies.update(dict.fromkeys(r["label"] for r in view["rows"]))
    ordered = {name: sorted(values, key=_natural) for name, values in options.items()}
    return ordered | {"strategy": sorted(strategies, key=_natural)}


def _natural(value: str) -> tuple:
    return (0, int(value), "") if value.isdigit() else (1, 0, value)


def render_html(
    tables: list[Table],
    figures: list[dict[str, Any]],
    notes: list[str],
    galleries=(),
    root: Path | None = None,
) -> str:
    page = page_view(tables, root)
    environment = html_environment()
    return environment.get_template("leaderboard.html.j2").render(
        page=page,
        filters=_filter_options(page),
        rank_data={view["id"]: rank_data(view) for view in page["tables"]},
        figures=[_figure_view(f, embed=True) for f in figures],
        galleries=[_figure_view(g, embed=True) for g in galleries],
        notes=list(notes),
        storage=STORAGE,
    )

