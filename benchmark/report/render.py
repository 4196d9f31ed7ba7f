"""Markdown and self-contained HTML views of the leaderboard tables (no network, no external URL)."""

from __future__ import annotations

import base64
import html
from pathlib import Path
from typing import Any

from benchmark.report.tables import Table
from benchmark.results.frame import missing

HEADER_NAMES = {"label": "Strategy", "ipc": "IPC", "network": "Network"}
STORAGE = "Storage / budget"
EXPLANATION = (
    "Cells are mean ± std (percent, ddof 0) over every evaluation network of the cell (seeds × repeats; "
    "for continual steps also class orders). The best measured value of each column is in bold; "
    "upper bounds (unbudgeted strategies) are shown but never ranked. Storage is in float32 "
    "equivalents (the one learned scalar lr is exempt). The gain is the difference of means, in points, "
    "over the strategy whose role is the reference, at the same budget and setting."
)


def _reference(table: Table) -> str:
    return ", ".join(table.references) or "the reference"


def _cautions(tables: list[Table]) -> list[str]:
    return sorted({c for t in tables for c in t.cautions})


def _row_text(table: Table, row: tuple) -> list[str]:
    return ["" if missing(v) else str(v) for v in row]


def _cell_text(table: Table, row: tuple, column: str, kind: str) -> tuple[str, bool]:
    cell = table.cell(row, column, kind)
    if cell is None:
        return "", False
    return str(cell["text"]), bool(cell["best"])


def _gain_text(table: Table, row: tuple, column: str) -> str:
    cell = table.cell(row, column)
    if cell is None:
        return ""
    if cell["role"] == "reference":
        return "—"
    return "" if missing(cell["gain"]) else f"{cell['gain']:+.2f}"


# ---- Markdown ------------------------------------------------------------------------------------


def _md_escape(text: str) -> str:
    return text.replace("|", "\\|")


def _md_table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(_md_escape(h) for h in header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(_md_escape(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def markdown_table(table: Table) -> str:
    header = [HEADER_NAMES.get(k, k) for k in table.row_keys] + table.columns + [STORAGE]
    rows = []
    for row in table.rows("measured"):
        cells = []
        for column in table.columns:
            text, best = _cell_text(table, row, column, "measured")
            cells.append(f"**{text}**" if best and text else text)
        rows.append(_row_text(table, row) + cells + [table.storage.get(row, "")])
    for row in table.rows("reported"):
        label = _row_text(table, row)
        label[0] = f"*{label[0]}*"
        cells = [_cell_text(table, row, c, "reported")[0] for c in table.columns]
        rows.append(label + [f"*{c}*" if c else "" for c in cells] + [""])
    return _md_table(header, rows)


def markdown_gain_table(table: Table) -> str:
    header = [HEADER_NAMES.get(k, k) for k in table.row_keys] + [f"Δ {c}" for c in table.columns]
    rows = [
        _row_text(table, row) + [_gain_text(table, row, c) for c in table.columns]
        for row in table.rows("measured")
    ]
    return _md_table(header, rows)


def render_markdown(tables: list[Table], figures: list[dict[str, Any]], notes: list[str], root: Path) -> str:
    out = ["# Leaderboard", "", EXPLANATION, ""]
    cautions = _cautions(tables)
    if cautions:
        out += ["**Reported numbers** (italic, below each table, never ranked). " + " ".join(cautions), ""]
    if not tables:
        out += ["No records found.", ""]
    for table in tables:
        out += [f"## {table.title}", "", markdown_table(table), ""]
        if table.references:
            out += [
                f"Gain over {_reference(table)} (points), {table.title}:",
                "",
                markdown_gain_table(table),
                "",
            ]
    if figures:
        out += ["## Figures", ""]
        for figure in figures:
            rel = Path(figure["png"]).relative_to(root).as_posix()
            out += [f"### {figure['title']}", "", f"![{figure['title']}]({rel})", ""]
    if notes:
        out += ["## Notes", ""] + [f"- {note}" for note in notes] + [""]
    return "\n".join(out)


# ---- HTML ----------------------------------------------------------------------------------------

CSS = """
body { font-family: system-ui, sans-serif; margin: 2em; color: #222; }
table { border-collapse: collapse; margin: 0.5em 0 1.5em; font-size: 0.9em; }
th, td { border: 1px solid #ccc; padding: 0.25em 0.6em; text-align: right; white-space: nowrap; }
th:first-child, td:first-child { text-align: left; }
th { background: #f0f0f0; cursor: pointer; user-select: none; }
th.sorted-asc::after { content: " \\25B2"; } th.sorted-desc::after { content: " \\25BC"; }
tbody.reported td { font-style: italic; color: #555; background: #fafafa; }
.caution { border-left: 4px solid #c90; padding: 0.5em 1em; background: #fff8e5; }
figure { margin: 1em 0; } figure img { max-width: 100%; border: 1px solid #ddd; }
"""

JS = """
document.querySelectorAll('table.sortable').forEach(function (table) {
  table.querySelectorAll('thead th').forEach(function (th, index) {
    th.addEventListener('click', function () {
      var body = table.tBodies[0];
      var asc = !th.classList.contains('sorted-asc');
      table.querySelectorAll('thead th').forEach(function (h) {
        h.classList.remove('sorted-asc', 'sorted-desc');
      });
      th.classList.add(asc ? 'sorted-asc' : 'sorted-desc');
      var rows = Array.prototype.slice.call(body.rows);
      function key(row) {
        var text = row.cells[index] ? row.cells[index].textContent.trim() : '';
        var number = parseFloat(text.replace(/,/g, ''));
        return isNaN(number) ? text.toLowerCase() : number;
      }
      rows.sort(function (a, b) {
        var x = key(a), y = key(b);
        if (typeof x !== typeof y) { return typeof x === 'number' ? -1 : 1; }
        return (x < y ? -1 : x > y ? 1 : 0) * (asc ? 1 : -1);
      });
      rows.forEach(function (row) { body.appendChild(row); });
    });
  });
});
"""


def _h(text: Any) -> str:
    return html.escape(str(text), quote=True)


def html_table(table: Table) -> str:
    header = [HEADER_NAMES.get(k, k) for k in table.row_keys] + table.columns + [STORAGE]
    out = ['<table class="sortable">', "<thead><tr>" + "".join(f"<th>{_h(h)}</th>" for h in header)]
    out.append("</tr></thead><tbody>")
    for row in table.rows("measured"):
        cells = [f"<td>{_h(t)}</td>" for t in _row_text(table, row)]
        for column in table.columns:
            text, best = _cell_text(table, row, column, "measured")
            cells.append(f"<td><strong>{_h(text)}</strong></td>" if best and text else f"<td>{_h(text)}</td>")
        cells.append(f"<td>{_h(table.storage.get(row, ''))}</td>")
        out.append("<tr>" + "".join(cells) + "</tr>")
    out.append("</tbody>")
    reported = table.rows("reported")
    if reported:
        out.append('<tbody class="reported">')
        for row in reported:
            cells = [f"<td>{_h(t)}</td>" for t in _row_text(table, row)]
            cells += [f"<td>{_h(_cell_text(table, row, c, 'reported')[0])}</td>" for c in table.columns]
            out.append("<tr>" + "".join(cells) + "<td></td></tr>")
        out.append("</tbody>")
    out.append("</table>")
    return "\n".join(out)


def html_gain_table(table: Table) -> str:
    header = [HEADER_NAMES.get(k, k) for k in table.row_keys] + [f"Δ {c}" for c in table.columns]
    out = ['<table class="sortable">', "<thead><tr>" + "".join(f"<th>{_h(h)}</th>" for h in header)]
    out.append("</tr></thead><tbody>")
    for row in table.rows("measured"):
        cells = _row_text(table, row) + [_gain_text(table, row, c) for c in table.columns]
        out.append("<tr>" + "".join(f"<td>{_h(c)}</td>" for c in cells) + "</tr>")
    out.append("</tbody></table>")
    return "\n".join(out)


def render_html(tables: list[Table], figures: list[dict[str, Any]], notes: list[str]) -> str:
    body = ["<h1>Leaderboard</h1>", f"<p>{_h(EXPLANATION)}</p>"]
    cautions = _cautions(tables)
    if cautions:
        body.append(
            '<p class="caution"><strong>Reported numbers</strong> (italic, below each table, never ranked). '
            f"{_h(' '.join(cautions))}</p>"
        )
    if not tables:
        body.append("<p>No records found.</p>")
    for table in tables:
        body += [f"<h2>{_h(table.title)}</h2>", html_table(table)]
        if table.references:
            body += [f"<h3>Gain over {_h(_reference(table))} (points), {_h(table.title)}</h3>",
                     html_gain_table(table)]  # fmt: skip
    if figures:
        body.append("<h2>Figures</h2>")
        for figure in figures:
            data = base64.b64encode(Path(figure["png"]).read_bytes()).decode("ascii")
            body.append(
                f'<figure><img alt="{_h(figure["title"])}" src="data:image/png;base64,{data}">'
                f"<figcaption>{_h(figure['title'])}</figcaption></figure>"
            )
    if notes:
        body.append("<h2>Notes</h2><ul>" + "".join(f"<li>{_h(n)}</li>" for n in notes) + "</ul>")
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>Leaderboard</title>'
        f"<style>{CSS}</style></head><body>\n"
        + "\n".join(body)
        + f"\n<script>{JS}</script>\n</body></html>\n"
    )
