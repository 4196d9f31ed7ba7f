"""The typed record config: old keys kept, and every field's place in a table holds (a field that can
change a number reaches the row key, or is declared a replicate averaged into its cell)."""

from __future__ import annotations

import copy
import json
from dataclasses import fields
from pathlib import Path

import pytest

from benchmark.report.tables import build_tables
from benchmark.results.config import FIELDS, PLACES, RecordConfig, fields_at
from benchmark.results.record import Record, record_key

ROOT = Path(__file__).resolve().parents[1]
CLAIM = ROOT / "studies" / "continual-claim-data" / "records" / "continual"


def stored() -> list[dict]:
    return [json.loads(path.read_text()) for path in sorted(CLAIM.glob("*.json"))]


def test_every_study_record_keeps_its_key_through_the_typed_config():
    records = stored()
    assert len(records) == 90
    for data in records:
        typed = RecordConfig.from_dict(data["config"])
        assert typed.to_dict() == data["config"]
        assert record_key(typed, data["code"]) == data["key"]


def test_an_optional_field_is_hashed_only_when_set():
    config = RecordConfig(dataset="digits", suite="standard", profile="smoke", spec="random", ipc=1)
    assert "corruptions" not in config.to_dict() and "step" in config.to_dict()
    assert record_key(config) == record_key(config.to_dict())
    assert record_key(config.with_fields(values="uint8")) != record_key(config)
    with pytest.raises(TypeError, match="no field seed"):
        config.with_fields(seed=1)


def test_every_field_declares_its_place():
    for f in fields(RecordConfig):
        assert f.metadata.get("place") in PLACES, f"{f.name} declares no place in a table"


def one_run() -> list[Record]:
    """The five steps of random's run on class order 0 (ok records of the claim study)."""
    chosen = [
        data for data in stored()
        if data["config"]["strategy"] == "random" and data["config"]["class_order"] == 0
    ]  # fmt: skip
    assert len(chosen) == 5
    return [Record.from_json(data) for data in chosen]


CHANGED = {  # a value other than the run's for each field
    "dataset": "digits", "preprocessing": "zca", "suite": "standard", "profile": "paper",
    "spec": "random:extra=1", "strategy": "other", "ipc": 7, "network": "MLP",
    "eval_recipe": {"precision": "bf16"}, "step": 9, "steps": 4, "class_order": 5, "distill_seed": 3,
    "repeat": 2, "eval_seed": 11, "corruptions": {"severities": [1]}, "values": "uint8", "set_sha256": "ab",
}  # fmt: skip


def changed(records: list[Record], name: str) -> list[Record]:
    out = []
    for record in records:
        config = copy.deepcopy(record.config)
        value = CHANGED[name]
        config[name] = config[name] | value if isinstance(value, dict) and config.get(name) else value
        out.append(Record(config, "ok", metrics={"accuracy": 0.5}, role=record.role, label_parts=[]))
    return out


def cells_of(records: list[Record]):
    tables = build_tables(records)
    return tables, [t.cells[t.cells["kind"] == "measured"] for t in tables]


@pytest.mark.parametrize("name", list(FIELDS))
def test_a_field_changes_the_table_as_its_place_says(name):
    assert name in CHANGED, f"add a changed value for the new field {name!r}"
    run = one_run()
    other = changed(run, name)
    place = FIELDS[name].metadata["place"]
    tables, cells = cells_of(run + other)
    if place == "table":
        assert len(tables) == 2
        return
    (table,), (measured,) = tables, cells
    rows = {tuple(row) for row in measured[list(table.row_keys)].itertuples(index=False)}
    if place in ("setting", "cell"):  # other rows: never averaged with the run's
        assert len(rows) == 2, measured[list(table.row_keys)]
    elif place == "column":
        assert len(rows) == 1 and "step 10" in set(measured["column"])
    else:  # replicate, derived: observations of the same cells (two networks each)
        assert len(rows) == 1
        assert set(measured.loc[measured["column"] == "step 1", "n"]) == {2}


def test_bf16_and_fp32_and_other_step_counts_never_share_a_row():
    run = one_run()
    for name, labels in (
        ("eval_recipe", {"random [precision=fp32]", "random [precision=bf16]"}),
        ("steps", {"random [steps=5]", "random [steps=4]"}),
    ):
        _, (measured,) = cells_of(run + changed(run, name))
        assert set(measured["label"]) == labels


def test_a_continual_run_is_grouped_by_the_cell_and_replicate_fields():
    from benchmark.suites.continual import RUNS

    assert set(RUNS) == {"label", "recipe", *fields_at("cell"), *fields_at("replicate")}
    assert set(RUNS) == {"label", "spec", "recipe", "ipc", "network", "class_order", "distill_seed", "repeat"}
