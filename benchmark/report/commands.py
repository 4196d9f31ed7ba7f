"""The ``leaderboard``, ``compare`` and ``contrast`` commands (registered in :mod:`benchmark.registries`).

pandas and matplotlib are imported inside ``run`` so that ``python -m benchmark --help`` stays fast.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from benchmark.paths import path_argument


def build_leaderboard(output_dir: str | Path, figures: bool = True) -> dict[str, Any]:
    """Write leaderboard.md, leaderboard.html, tables/*.csv and figures/* under ``output_dir``."""
    from benchmark.atomic import atomic_write_bytes
    from benchmark.paths import inside
    from benchmark.report.figures import buffer_grids, table_figures
    from benchmark.report.render import render_html, render_markdown
    from benchmark.report.tables import build_tables, table_csv_frame
    from benchmark.results.frame import results_frame
    from benchmark.results.store import ResultStore

    store = ResultStore(output_dir, existing=True)
    root = store.root
    records = store.records()
    tables = build_tables(records)
    table_dir = store.tables_dir
    table_dir.mkdir(parents=True, exist_ok=True)
    csvs = []
    if records:
        frame = results_frame(records)
        path = table_dir / "records.csv"
        atomic_write_bytes(path, frame.to_csv(index=False).encode())
        csvs.append(path)
    for table in tables:
        path = inside(table_dir, f"{table.name}.csv")
        atomic_write_bytes(path, table_csv_frame(table).to_csv(index=False).encode())
        csvs.append(path)
    made, galleries, notes = [], [], []
    if figures and records:
        figure_dir = store.figures_dir
        made = table_figures(tables, figure_dir)
        galleries, notes = buffer_grids(records, store, figure_dir)
    markdown = render_markdown(tables, made, notes, root, galleries)
    atomic_write_bytes(store.leaderboard_path("md"), markdown.encode())
    page = render_html(tables, made, notes, galleries, root)
    atomic_write_bytes(store.leaderboard_path("html"), page.encode())
    return {
        "records": len(records),
        "tables": tables,
        "csvs": csvs,
        "figures": made + galleries,
        "notes": notes,
        "markdown": store.leaderboard_path("md"),
        "html": store.leaderboard_path("html"),
    }


class LeaderboardCommand:
    help = "write leaderboard.md/.html, tables/*.csv and figures from every record"

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument(
            "--output-dir", type=path_argument, default=Path("results"), help="the result store"
        )
        parser.add_argument("--no-figures", action="store_true", help="skip the matplotlib figures")

    def run(self, args: argparse.Namespace) -> int:
        result = build_leaderboard(args.output_dir, figures=not args.no_figures)
        if not result["records"]:
            print(f"no records under {args.output_dir}/records; wrote an empty leaderboard")
        print(
            f"{result['records']} records, {len(result['tables'])} tables, {len(result['figures'])} figures: "
            f"{result['markdown']}, {result['html']}, {len(result['csvs'])} CSVs in "
            f"{Path(args.output_dir) / 'tables'}"
        )
        for note in result["notes"]:
            print(f"note: {note}")
        return 0


def run_compare(output_dir: str | Path):
    """The comparison frame (also written to tables/compare.csv) and the records it came from."""
    from benchmark.atomic import atomic_write_bytes
    from benchmark.report.compare import compare_frame
    from benchmark.results.store import ResultStore

    store = ResultStore(output_dir, existing=True)
    frame = compare_frame(store.records())
    if not frame.empty:
        atomic_write_bytes(store.tables_dir / "compare.csv", frame.to_csv(index=False).encode())
    return frame


class CompareCommand:
    help = "compare paper-profile results with the SPEED paper's published numbers"

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument(
            "--output-dir", type=path_argument, default=Path("results"), help="the result store"
        )

    def run(self, args: argparse.Namespace) -> int:
        from benchmark.report.compare import format_compare
        from benchmark.report.reported import load_reported

        frame = run_compare(args.output_dir)
        if frame.empty:
            print(
                f"no records of the paper profile under {args.output_dir}/records; nothing to compare "
                "(run a suite with --profile paper first)"
            )
            return 0
        print(format_compare(frame))
        matched = frame["reported"] != ""
        print(
            f"\n{int(matched.sum())} of {len(frame)} rows have a reported counterpart; "
            f"{int((frame['within_std'] == True).sum())} lie within the reported std."  # noqa: E712
        )
        for caution in sorted({c for c in load_reported()["caution"] if c}):
            print(f"Caution: {caution}")
        return 0


def run_contrast(output_dir: str | Path, baselines: list[str], level: float):
    """The contrast frame (also written to tables/contrast.csv); a baseline no record has is an error."""
    from benchmark.atomic import atomic_write_bytes
    from benchmark.errors import UserInputError
    from benchmark.report.contrast import contrast_frame
    from benchmark.results.frame import records_frame
    from benchmark.results.store import ResultStore

    store = ResultStore(output_dir, existing=True)
    records = store.records()
    known = set(records_frame(records)["label"].dropna()) if records else set()
    unknown = [b for b in baselines if b not in known]
    if unknown and records:
        raise UserInputError(
            f"--baseline {','.join(unknown)}: no such strategy in the records under {output_dir}; "
            f"use one of {', '.join(sorted(known))} (labels as the tables show them)"
        )
    frame = contrast_frame(records, baselines, level)
    if not frame.empty:
        atomic_write_bytes(store.tables_dir / "contrast.csv", frame.to_csv(index=False).encode())
    return frame


class ContrastCommand:
    help = "differences between strategies with Welch confidence intervals over distillation seeds"

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument(
            "--output-dir", type=path_argument, default=Path("results"), help="the result store"
        )
        parser.add_argument(
            "--baseline",
            default="",
            help="comma-separated strategy labels to compare every other strategy with (default: all pairs)",
        )
        parser.add_argument("--level", type=float, default=0.95, help="confidence level (default 0.95)")

    def run(self, args: argparse.Namespace) -> int:
        from benchmark.errors import UserInputError
        from benchmark.report.contrast import format_contrast

        if not 0 < args.level < 1:
            raise UserInputError(f"--level {args.level}: a confidence level lies strictly between 0 and 1")
        baselines = [b.strip() for b in args.baseline.split(",") if b.strip()]
        frame = run_contrast(args.output_dir, baselines, args.level)
        if frame.empty:
            print(f"no two strategies with accuracy records in one cell under {args.output_dir}/records")
            return 0
        print(format_contrast(frame))
        print(
            f"\n{args.level:.0%} Welch intervals over distillation seeds (each seed: the mean of its "
            "evaluation networks) and, where both sides share seeds, paired-by-seed t intervals of the "
            "per-seed differences (in the continual suite a seed × class order pair is one observation "
            "and pairs match on both); each kind Holm-adjusted over the comparisons of each cell; written to "
            f"{Path(args.output_dir) / 'tables' / 'contrast.csv'}"
        )
        return 0


LEADERBOARD = LeaderboardCommand()
COMPARE = CompareCommand()
CONTRAST = ContrastCommand()
