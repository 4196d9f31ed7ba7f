"""A suite, a dataset, a network and a reference strategy, each one file outside the tree, without a
harness edit: they appear in `list`, run, `show` and the leaderboard, and with no `random` in the run
the gains are measured against the plugin's reference strategy."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PLUGINS = [
    ROOT / "tests" / "plugins" / f"{name}.py"
    for name in ("blobs_dataset", "tiny_mlp", "first_k", "fit_suite")
]


def cli(*args: str) -> subprocess.CompletedProcess:
    flags = [part for path in PLUGINS for part in ("--plugin", str(path))]
    env = dict(os.environ, BENCHMARK_PROGRESS="0")
    done = subprocess.run(
        [sys.executable, "-m", "benchmark", *flags, *args], cwd=ROOT, env=env, capture_output=True, text=True,
        timeout=600,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    return done


def test_outside_suite_dataset_network_and_reference_strategy(tmp_path):
    listed = cli("list").stdout
    for line in ("blobs ", "TinyMLP ", "first_k ", "fit "):
        assert f"  {line}" in listed, line

    out = str(tmp_path)
    strategies = "first_k,dm:iterations=2:network=TinyMLP:net_width=8:batch_real=16"
    ran = cli("run", "--suite", "fit", "--profile", "smoke", "--strategies", strategies, "--output-dir", out)
    assert "blobs · fit · smoke" in ran.stdout
    header = next(line for line in ran.stdout.splitlines() if "test" in line and "train" in line)
    assert header.split()[:2] == ["test", "train"]  # the suite's own columns, in its order
    records = [json.loads(p.read_text()) for p in (tmp_path / "records" / "fit").glob("*.json")]
    assert len(records) == 4 and {r["status"] for r in records} == {"ok"}  # 2 strategies × 2 seeds
    roles = {r["config"]["strategy"]: r["role"] for r in records}
    assert roles == {"first_k": "reference", "dm": "method"}
    assert all(0 <= r["metrics"]["accuracy/train"] <= 1 for r in records)

    shown = cli("show", "--output-dir", out).stdout
    assert shown.strip() == ran.stdout[ran.stdout.index("== blobs") :].strip()  # one vocabulary

    cli("leaderboard", "--output-dir", out)
    page = (tmp_path / "leaderboard.html").read_text()
    assert "blobs · fit · smoke" in page and "Gain over first_k" in page
    with open(tmp_path / "tables" / "blobs_fit_smoke.csv", newline="") as handle:
        cells = [row for row in csv.DictReader(handle) if row["strategy"] == "dm"]
    assert {row["column"] for row in cells} == {"test", "train"}
    for row in cells:  # dm's gain is measured against the plugin's reference strategy
        assert row["reference"] == "first_k" and row["gain_pts"] != ""
