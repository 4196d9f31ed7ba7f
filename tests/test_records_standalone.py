"""Records stand alone: they carry their role and label parts, benchmark/results/ imports no strategy
registry, and records written before read as they did (a fixed table of the built-in strategies)."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from benchmark.engine.plan import Reading
from benchmark.results.frame import records_frame
from benchmark.results.record import Record
from benchmark.spec import parse_spec
from benchmark.strategy import ResolvedSpec, resolve, strategy_class

ROOT = Path(__file__).resolve().parents[1]
STUDIES = ROOT / "studies"
REGISTRY_MODULES = ("benchmark.strategy", "benchmark.registries", "benchmark.registry", "benchmark.plugins")


def test_results_import_no_strategy_registry():
    for path in sorted((ROOT / "benchmark" / "results").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
            names += [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            assert not any(n in REGISTRY_MODULES for n in names), f"{path.name} imports {names}"


def test_a_new_record_carries_its_role_and_label_parts():
    def reading(spec: str) -> Reading:
        resolved = resolve(parse_spec(spec), "smoke", "digits", 1)
        return Reading.of(strategy_class(resolved.name), resolved)

    assert reading("speed:objective=dm") == Reading("method", ["objective"])
    assert reading("speed") == Reading("method", [])
    assert reading("random") == Reading("reference", [])
    assert reading("whole") == Reading("upper_bound", [])


READ = """
import json, sys
sys.modules.update({name: None for name in %r})  # the registry cannot be imported
from pathlib import Path
from benchmark.results.frame import records_frame
from benchmark.results.record import Record
records = []
for path in sorted(Path(sys.argv[1]).rglob("records/*/*.json")):
    data = json.loads(path.read_text())
    data.pop("role", None), data.pop("label_parts", None)  # written before records carried them
    records.append(Record.from_json(data))
frame = records_frame(records)
print(json.dumps(sorted(set(zip(frame["key"], frame["role"], frame["label"], strict=True)))))
"""


def registry_reading(record: Record) -> Record:
    """The record as this code writes it: role and label parts from the registered strategy."""
    parsed = parse_spec(record.config["spec"])
    reading = Reading.of(strategy_class(parsed.name), ResolvedSpec(parsed.name, parsed.params))
    return replace(record, role=reading.role, label_parts=reading.label_parts)


def readings(frame) -> list[tuple]:
    return sorted(set(zip(frame["key"], frame["role"], frame["label"], strict=True)))


def test_old_study_records_read_as_before_without_the_registry():
    for folder in ("continual-claim-data", "claim-data"):
        paths = sorted((STUDIES / folder).rglob("records/*/*.json"))
        records = [registry_reading(Record.from_json(json.loads(p.read_text()))) for p in paths]
        expected = readings(records_frame(records))
        assert {"reference", "method"} <= {row[1] for row in expected}
        assert any(":objective=dm" in row[2] for row in expected) or folder == "claim-data"
        out = subprocess.run(
            [sys.executable, "-c", READ % (REGISTRY_MODULES,), str(STUDIES / folder)],
            capture_output=True, text=True, check=True, cwd=ROOT,
        )  # fmt: skip
        assert [tuple(row) for row in json.loads(out.stdout)] == expected


def test_a_record_naming_its_label_parts_is_labelled_by_them():
    config = {
        "dataset": "digits", "suite": "standard", "profile": "smoke", "spec": "plugin_method:objective=dm",
        "strategy": "plugin_method", "ipc": 1, "network": "ConvNet", "repeat": 0,
    }  # fmt: skip
    own = Record(config, "ok", metrics={"accuracy": 0.5}, role="method", label_parts=[])
    old = Record(config, "ok", metrics={"accuracy": 0.5})  # an unknown strategy: its component is shown
    assert records_frame([own])["label"].tolist() == ["plugin_method"]
    assert records_frame([old])["label"].tolist() == ["plugin_method:objective=dm"]


def test_a_record_whose_label_parts_are_not_spec_keys_is_refused(tmp_path):
    from benchmark.errors import BenchmarkWarning
    from benchmark.results.store import ResultStore

    (path,) = sorted((STUDIES / "claim-data").rglob("records/*/*.json"))[:1]
    data = json.loads(path.read_text())
    folder = tmp_path / "records" / "standard"
    folder.mkdir(parents=True)
    for bad in ([["objective"]], [1, "objective"], [None]):
        with pytest.raises(ValueError, match="label_parts"):
            Record.from_json(data | {"label_parts": bad})
        (folder / f"{data['key']}.json").write_text(json.dumps(data | {"label_parts": bad}))
        with pytest.warns(BenchmarkWarning, match="label_parts"):
            assert ResultStore(tmp_path).records("standard") == []  # skipped, not a crash in the tables
    (folder / f"{data['key']}.json").write_text(json.dumps(data | {"label_parts": []}))
    expected = records_frame([Record.from_json(data)])["label"].tolist()
    assert records_frame(ResultStore(tmp_path).records("standard"))["label"].tolist() == expected
