"""The typed record config: old keys kept, and every field's place in a table holds (a field that can
change a number reaches the row key, or is declared a replicate averaged into its cell)."""

from __future__ import annotations

import copy
import json
from dataclasses import fields, replace
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
    "compile": "on", "suite_fields": {"noise": 0.5},
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
    elif place == "runtime":  # the same records: same keys, each counted once
        assert [r.key for r in other] == [r.key for r in run] and len(rows) == 1
        assert set(measured.loc[measured["column"] == "step 1", "n"]) == {1}
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


def smoke_suite(tmp_path, compile_mode: str):
    from benchmark.engine import Engine
    from benchmark.options import RunOptions
    from benchmark.profiles import load_profile
    from benchmark.registries import SUITES

    options = RunOptions(profile="smoke", strategies=["random"], ipcs=[1], repeats=1, output_dir=tmp_path,
                         device="cpu", show_progress=False, compile=compile_mode)  # fmt: skip
    profile = load_profile("smoke")
    return SUITES.get("standard")(options, profile, Engine(options.engine, profile))


def test_a_record_says_how_its_training_compiled_and_older_records_still_resume(tmp_path):
    suite = smoke_suite(tmp_path, "off")
    (cell,) = suite.cells()
    plan = suite.plan(cell)
    suite.run_plan(plan)
    (record,) = suite.engine.store.records("standard")
    assert record.config["compile"] == "off" and record.typed_config.compile == "off"
    (config,) = plan.units[0].configs
    assert config.compile is None and record.key == record_key(config)  # planned before it ran
    assert suite.engine.evaluation.pending([config]) == []
    # as an older version wrote it: no compile field; it reads, says nothing, and is still found
    (path,) = (tmp_path / "records" / "standard").glob("*.json")
    data = json.loads(path.read_text())
    del data["config"]["compile"]
    path.write_text(json.dumps(data))
    (old,) = smoke_suite(tmp_path, "on").engine.store.records("standard")
    assert old.key == record.key and old.typed_config.compile is None and "compile" not in old.config
    assert smoke_suite(tmp_path, "on").engine.evaluation.pending([config]) == []


@pytest.mark.parametrize("asked,ran", [("auto", "off"), ("on", "on"), ("off", "off")])
def test_compile_auto_is_resolved_before_training(tmp_path, monkeypatch, asked, ran):
    import torch

    from benchmark.engine import evaluation
    from benchmark.training.job import EvaluationJob, TrainingSet
    from benchmark.training.recipe import EvalRecipe

    modes = []

    def train_and_test(job, device, show_progress, mode):
        modes.append(mode)
        return None, 0.5

    monkeypatch.setattr(evaluation, "train_and_test", train_and_test)
    service = smoke_suite(tmp_path, asked).engine.evaluation
    training = TrainingSet(torch.zeros(2, 1, 8, 8), torch.tensor([0, 1]))
    job = EvaluationJob("ConvNet", None, training, EvalRecipe(epochs=3), 0)  # data: only the training's
    assert service.train(job).compile == ran and modes == [ran]


def toy_suites():
    """Two outside suites whose units add a ``noise`` field: one declares it, one does not."""
    from benchmark.suites.base import Suite, Unit

    class NoisySuite(Suite):
        name = "noisy"
        defaults = {"smoke": {"datasets": ["digits"], "strategies": ["random"], "ipc": [1], "seeds": [0],
                              "networks": ["ConvNet"], "repeats": 1}}  # fmt: skip
        record_fields = ("noise",)

        def units(self, cell, resolved):
            data = self.data(cell.dataset, resolved, cell.ipc)
            return [Unit(data, [data], {"noise": level}) for level in (0.0, 0.5)]

    class UndeclaredSuite(NoisySuite):
        name = "undeclared"
        record_fields = ()

    return NoisySuite, UndeclaredSuite


def test_a_suite_declares_its_own_record_fields_and_an_undeclared_one_is_refused(tmp_path):
    from benchmark.engine import Engine
    from benchmark.options import RunOptions
    from benchmark.profiles import load_profile

    noisy, undeclared = toy_suites()
    profile = load_profile("smoke")
    options = RunOptions(profile="smoke", output_dir=tmp_path, device="cpu", show_progress=False)
    suite = noisy(options, profile, Engine(options.engine, profile))
    (cell,) = suite.cells()
    configs = [unit.configs[0] for unit in suite.plan(cell).units]
    assert [c.to_dict()["suite_fields"] for c in configs] == [{"noise": 0.0}, {"noise": 0.5}]
    assert record_key(configs[0]) != record_key(configs[1])  # a setting: part of the identity
    plain = configs[0].to_dict()
    del plain["suite_fields"]
    assert RecordConfig.from_dict(plain).to_dict() == plain  # without the field: a built-in config
    assert RecordConfig.from_dict(configs[0].to_dict()) == configs[0]  # the typed view keeps it
    refused = undeclared(options, profile, Engine(options.engine, profile))
    with pytest.raises(TypeError, match=r"record field 'noise'.*record_fields = \('noise',\)"):
        refused.plan(cell)
    with pytest.raises(TypeError, match="declares 'ipc', a field every record has"):
        type("Clash", (noisy,), {"name": "clash", "record_fields": ("ipc",)})


def test_a_suites_own_settings_split_rows_from_the_record_alone():
    """Reading needs no suite class: two records that differ only in a suite's own setting are two
    rows in a process where that suite was never defined."""
    from benchmark.results.frame import records_frame

    base = RecordConfig(dataset="digits", suite="noisy", profile="smoke", spec="random", strategy="random",
                        ipc=1, network="ConvNet", distill_seed=0, repeat=0)  # fmt: skip
    records = [
        Record(replace(base, suite_fields={"noise": level}), "ok", metrics={"accuracy": accuracy},
               role="reference", label_parts=[])  # fmt: skip
        for level, accuracy in ((0.0, 0.9), (0.5, 0.3))
    ]
    frame = records_frame(records)
    assert dict(zip(frame["label"], frame["value"], strict=True)) == {
        "random [noise=0.0]": 0.9, "random [noise=0.5]": 0.3,
    }  # fmt: skip
