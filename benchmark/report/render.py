"""Markdown and self-contained HTML views of the leaderboard tables (no network, no external URL
except the methods' own paper and code links).

Each table shows a rank, the strategy with its links (from its registration), the cells with the
number of evaluation networks behind them, the storage, and a provenance line (profile, commits,
dates, the commands that made its records). The HTML page adds filters (dataset, suite, profile,
IPC, network), sortable columns, the figures and the buffer galleries, all in one file.
"""

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
    "Cells are mean ± std (percent, ddof 0) over the n evaluation networks of the cell (seeds × repeats; "
    "for continual steps also class orders). Rank: the mean of a row's rank in each column. The best "
    "measured value of each column is in bold; upper bounds (unbudgeted strategies) are shown but never "
    "ranked. Storage is in float32 equivalents (the one learned scalar lr is exempt). The gain is the "
    "difference of means, in points, over the strategy whose role is the reference, at the same budget "
    "and setting."
)


def _reference(table: Table) -> str:
    return ", ".join(table.references) or "the reference"


def _cautions(tables: list[Table]) -> list[str]:
    return sorted({c for t in tables for c in t.cautions})


def _row_text(row: tuple) -> list[str]:
    return ["" if missing(v) else str(v) for v in row]


def _cell(table: Table, row: tuple, column: str, kind: str = "measured") -> tuple[str, bool, str]:
    """(text, best, n) of one cell."""
    cell = table.cell(row, column, kind)
    if cell is None:
        return "", False, ""
    n = "" if missing(cell["n"]) or not cell["n"] else str(int(cell["n"]))
    return str(cell["text"]), bool(cell["best"]), n


def _gain_text(table: Table, row: tuple, column: str) -> str:
    cell = table.cell(row, column)
    if cell is None:
        return ""
    if cell["role"] == "reference":
        return "—"
    return "" if missing(cell["gain"]) else f"{cell['gain']:+.2f}"


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


# ---- Markdown ------------------------------------------------------------------------------------


def _md_escape(text: str) -> str:
    return text.replace("|", "\\|")


def _md_table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(_md_escape(h) for h in header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(_md_escape(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def _md_label(table: Table, row: tuple) -> str:
    text = "" if missing(row[0]) else str(row[0])
    return " ".join([text, *(f"[{kind}]({url})" for kind, url in links(table, row).items())])


def markdown_table(table: Table) -> str:
    header = ["Rank", *(HEADER_NAMES.get(k, k) for k in table.row_keys), *table.columns, STORAGE]
    ranks = table.ranks()
    rows = []
    for row in table.rows("measured"):
        cells = []
        for column in table.columns:
            text, best, n = _cell(table, row, column)
            shown = f"**{text}**" if best and text else text
            cells.append(f"{shown} (n={n})" if n else shown)
        rank = ranks.get(tuple(None if missing(v) else v for v in row))
        label = [_md_label(table, row), *_row_text(row)[1:]]
        rows.append([str(rank) if rank else "—", *label, *cells, table.storage.get(row, "")])
    for row in table.rows("reported"):
        label = _row_text(row)
        label[0] = f"*{label[0]}*"
        cells = [_cell(table, row, c, "reported")[0] for c in table.columns]
        rows.append(["", *label, *[f"*{c}*" if c else "" for c in cells], ""])
    return _md_table(header, rows)


def markdown_gain_table(table: Table) -> str:
    header = [HEADER_NAMES.get(k, k) for k in table.row_keys] + [f"Δ {c}" for c in table.columns]
    rows = [
        _row_text(row) + [_gain_text(table, row, c) for c in table.columns] for row in table.rows("measured")
    ]
    return _md_table(header, rows)


def render_markdown(
    tables: list[Table], figures: list[dict[str, Any]], notes: list[str], root: Path, galleries=()
) -> str:
    out = ["# Leaderboard", "", EXPLANATION, ""]
    cautions = _cautions(tables)
    if cautions:
        out += ["**Reported numbers** (italic, below each table, never ranked). " + " ".join(cautions), ""]
    if not tables:
        out += ["No records found.", ""]
    for table in tables:
        out += [f"## {table.title}", "", provenance_text(table), ""]
        commands = table.provenance.get("commands", [])
        if commands:
            out += ["Made by:", "", *[f"    {command}" for command in commands], ""]
        out += [markdown_table(table), ""]
        if table.references:
            out += [
                f"Gain over {_reference(table)} (points), {table.title}:",
                "",
                markdown_gain_table(table),
                "",
            ]
    for title, items in (("Figures", figures), ("Buffers", galleries)):
        if items:
            out += [f"## {title}", ""]
            for figure in items:
                rel = Path(figure["png"]).relative_to(root).as_posix()
                out += [f"### {figure['title']}", "", f"![{figure['title']}]({rel})", ""]
    if notes:
        out += ["## Notes", ""] + [f"- {note}" for note in notes] + [""]
    return "\n".join(out)


# ---- HTML ----------------------------------------------------------------------------------------

CSS = """
body { font-family: system-ui, sans-serif; margin: 2em; color: #222; max-width: 110em; }
table { border-collapse: collapse; margin: 0.5em 0 1.5em; font-size: 0.9em; }
th, td { border: 1px solid #ccc; padding: 0.25em 0.6em; text-align: right; white-space: nowrap; }
th:nth-child(2), td:nth-child(2) { text-align: left; }
th { background: #f0f0f0; cursor: pointer; user-select: none; }
th.sorted-asc::after { content: " \\25B2"; } th.sorted-desc::after { content: " \\25BC"; }
tbody.reported td { font-style: italic; color: #555; background: #fafafa; }
.n { color: #888; font-size: 0.8em; } .links a { font-size: 0.8em; margin-left: 0.4em; }
.provenance { color: #555; font-size: 0.85em; } .provenance code { font-size: 0.95em; }
.caution { border-left: 4px solid #c90; padding: 0.5em 1em; background: #fff8e5; }
.filters { position: sticky; top: 0; background: #fff; padding: 0.5em 0; border-bottom: 1px solid #ddd; }
.filters label { margin-right: 1em; }
figure { margin: 1em 0; } figure img { max-width: 100%; border: 1px solid #ddd; }
"""

JS = """
function applyFilters() {
  var wanted = {};
  document.querySelectorAll('.filters select').forEach(function (s) { wanted[s.name] = s.value; });
  function keep(el) {
    return Object.keys(wanted).every(function (k) {
      var v = el.getAttribute('data-' + k);
      return !wanted[k] || v === null || v === wanted[k];
    });
  }
  document.querySelectorAll('section.table').forEach(function (sec) {
    sec.style.display = keep(sec) ? '' : 'none';
  });
  document.querySelectorAll('tr[data-row]').forEach(function (tr) {
    tr.style.display = keep(tr) ? '' : 'none';
  });
  document.querySelectorAll('table.sortable').forEach(function (table) {
    var heads = table.querySelectorAll('thead th');
    heads.forEach(function (th, i) {
      var shown = keep(th) ? '' : 'none';
      th.style.display = shown;
      table.querySelectorAll('tbody tr').forEach(function (tr) {
        if (tr.cells[i]) { tr.cells[i].style.display = shown; }
      });
    });
  });
}
document.querySelectorAll('.filters select').forEach(function (s) {
  s.addEventListener('change', applyFilters);
});
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


def _data(**values: Any) -> str:
    return "".join(
        f' data-{k}="{_h(v)}"' for k, v in values.items() if v not in (None, "") and not missing(v)
    )


def _column_data(table: Table, column: str) -> str:
    """A column's IPC and network, where one value holds for all its cells (for the filters)."""
    cells = table.cells[(table.cells["column"] == column) & (table.cells["kind"] == "measured")]
    values = {}
    for key in ("ipc", "network"):
        found = {str(int(v)) if key == "ipc" else str(v) for v in cells[key].dropna()}
        if len(found) == 1 and key not in table.row_keys:
            values[key] = found.pop()
    return _data(**values)


def _row_data(table: Table, row: tuple) -> str:
    values = dict(zip(table.row_keys, row, strict=True))
    ipc = values.get("ipc")
    return ' data-row="1"' + _data(
        ipc=None if missing(ipc) else str(int(ipc)) if "ipc" in values else None,
        network=values.get("network"),
    )


def html_table(table: Table) -> str:
    ranks = table.ranks()
    header = ["<th>Rank</th>"]
    header += [f"<th>{_h(HEADER_NAMES.get(k, k))}</th>" for k in table.row_keys]
    header += [f"<th{_column_data(table, c)}>{_h(c)}</th>" for c in table.columns]
    header += [f"<th>{_h(STORAGE)}</th>"]
    out = ['<table class="sortable">', "<thead><tr>" + "".join(header) + "</tr></thead><tbody>"]
    for row in table.rows("measured"):
        rank = ranks.get(tuple(None if missing(v) else v for v in row))
        label = _row_text(row)
        anchors = "".join(f'<a href="{_h(url)}">{kind}</a>' for kind, url in links(table, row).items())
        cells = [f"<td>{rank or '—'}</td>", f'<td>{_h(label[0])}<span class="links">{anchors}</span></td>']
        cells += [f"<td>{_h(t)}</td>" for t in label[1:]]
        for column in table.columns:
            text, best, n = _cell(table, row, column)
            shown = f"<strong>{_h(text)}</strong>" if best and text else _h(text)
            cells.append(f"<td>{shown}{f' <span class=n>n={n}</span>' if n else ''}</td>")
        cells.append(f"<td>{_h(table.storage.get(row, ''))}</td>")
        out.append(f"<tr{_row_data(table, row)}>" + "".join(cells) + "</tr>")
    out.append("</tbody>")
    reported = table.rows("reported")
    if reported:
        out.append('<tbody class="reported">')
        for row in reported:
            cells = ["<td></td>"] + [f"<td>{_h(t)}</td>" for t in _row_text(row)]
            cells += [f"<td>{_h(_cell(table, row, c, 'reported')[0])}</td>" for c in table.columns]
            out.append(f"<tr{_row_data(table, row)}>" + "".join(cells) + "<td></td></tr>")
        out.append("</tbody>")
    out.append("</table>")
    return "\n".join(out)


def html_gain_table(table: Table) -> str:
    header = [HEADER_NAMES.get(k, k) for k in table.row_keys]
    heads = [f"<th>{_h(h)}</th>" for h in header] + [
        f"<th{_column_data(table, c)}>Δ {_h(c)}</th>" for c in table.columns
    ]
    out = ['<table class="sortable">', "<thead><tr>" + "".join(heads) + "</tr></thead><tbody>"]
    for row in table.rows("measured"):
        cells = _row_text(row) + [_gain_text(table, row, c) for c in table.columns]
        out.append(f"<tr{_row_data(table, row)}>" + "".join(f"<td>{_h(c)}</td>" for c in cells) + "</tr>")
    out.append("</tbody></table>")
    return "\n".join(out)


def _filters(tables: list[Table]) -> str:
    options: dict[str, set[str]] = {
        "dataset": set(),
        "suite": set(),
        "profile": set(),
        "ipc": set(),
        "network": set(),
    }
    for table in tables:
        options["dataset"].add(table.dataset)
        options["suite"].add(table.suite)
        options["profile"].add(table.profile)
        measured = table.cells[table.cells["kind"] == "measured"]
        options["ipc"] |= {str(int(v)) for v in measured["ipc"].dropna()}
        options["network"] |= {str(v) for v in measured["network"].dropna()}
    selects = []
    for name, values in options.items():
        choices = "".join(f'<option value="{_h(v)}">{_h(v)}</option>' for v in sorted(values, key=_natural))
        selects.append(
            f'<label>{name} <select name="{name}"><option value="">all</option>{choices}</select></label>'
        )
    return '<div class="filters">' + "".join(selects) + "</div>"


def _natural(value: str) -> tuple:
    return (0, int(value), "") if value.isdigit() else (1, 0, value)


def _figure_html(figure: dict[str, Any]) -> str:
    data = base64.b64encode(Path(figure["png"]).read_bytes()).decode("ascii")
    attributes = _data(**{k: figure.get(k) for k in ("dataset", "suite", "profile")})
    return (
        f'<section class="table"{attributes}><figure><img alt="{_h(figure["title"])}" '
        f'src="data:image/png;base64,{data}"><figcaption>{_h(figure["title"])}</figcaption></figure></section>'
    )


def render_html(tables: list[Table], figures: list[dict[str, Any]], notes: list[str], galleries=()) -> str:
    body = ["<h1>Leaderboard</h1>", f"<p>{_h(EXPLANATION)}</p>", _filters(tables)]
    cautions = _cautions(tables)
    if cautions:
        body.append(
            '<p class="caution"><strong>Reported numbers</strong> (italic, below each table, never ranked). '
            f"{_h(' '.join(cautions))}</p>"
        )
    if not tables:
        body.append("<p>No records found.</p>")
    for table in tables:
        commands = "".join(f"<li><code>{_h(c)}</code></li>" for c in table.provenance.get("commands", []))
        where = _data(dataset=table.dataset, suite=table.suite, profile=table.profile)
        made_by = "<summary>commands that made these records</summary>"
        body += [
            f'<section class="table"{where}>',
            f"<h2>{_h(table.title)}</h2>",
            f'<p class="provenance">{_h(provenance_text(table))}</p>',
            f'<details class="provenance">{made_by}<ul>{commands}</ul></details>' if commands else "",
            html_table(table),
        ]
        if table.references:
            body += [f"<h3>Gain over {_h(_reference(table))} (points)</h3>", html_gain_table(table)]
        body.append("</section>")
    for title, items in (("Figures", figures), ("Buffers", galleries)):
        if items:
            body.append(f"<h2>{title}</h2>")
            body += [_figure_html(figure) for figure in items]
    if notes:
        body.append("<h2>Notes</h2><ul>" + "".join(f"<li>{_h(n)}</li>" for n in notes) + "</ul>")
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>Leaderboard</title>'
        f"<style>{CSS}</style></head><body>\n"
        + "\n".join(body)
        + f"\n<script>{JS}</script>\n</body></html>\n"
    )
