"""The cell plan and the options split: a cell is planned once (spec, class, data, budget, keys,
recipes, record configs) and run from its plan with no strategy looked up again; the engine takes
its own options, apart from the run's selection and the executor's."""

from __future__ import annotations

import pytest

import benchmark.engine.plan as plan_module
from benchmark.engine import Engine
from benchmark.options import EngineOptions, ExecutionOptions, RunOptions, Selection
from benchmark.profiles import load_profile
from benchmark.registries import SUITES
from benchmark.results.record import record_key


def test_flat_options_go_to_the_part_that_owns_them():
    options = RunOptions(profile="smoke", ipcs=[1], device="cpu", precision="bf16", workers=2)
    assert options.selection == Selection(profile="smoke", ipcs=[1])
    assert options.engine == EngineOptions(device="cpu", precision="bf16")
    assert options.execution == ExecutionOptions(workers=2)
    forced = options.replace(force=True)
    assert forced.engine.force and forced.selection == options.selection
    with pytest.raises(TypeError, match="unknown options: colour"):
        RunOptions(colour="red")


def test_a_cell_is_planned_once_and_run_from_its_plan(tmp_path, monkeypatch):
    options = RunOptions(profile="smoke", strategies=["random"], ipcs=[2], repeats=2, output_dir=tmp_path,
                         device="cpu", show_progress=False)  # fmt: skip
    profile = load_profile("smoke")
    suite = SUITES.get("standard")(options, profile, Engine(options.engine, profile))
    (cell,) = [c for c in suite.cells() if c.ipc == 2]
    plan = suite.plan(cell)
    (unit,) = plan.units
    (fit,) = unit.fits
    assert (plan.resolved.canonical, plan.strategy.name) == ("random", "random")
    assert plan.reading.role == "reference"
    assert (fit.ipc, fit.seed, fit.budget.floats, len(fit.data.classes)) == (2, 0, 2 * 10 * 64, 10)
    assert fit.key == suite.engine.buffers.key(fit.data, fit.resolved, 2, 0)
    assert [(c.network, c.repeat, c.ipc, c.distill_seed) for c in unit.configs] == [
        ("ConvNet", 0, 2, 0), ("ConvNet", 1, 2, 0)
    ]  # fmt: skip
    assert unit.recipes["ConvNet"].describe() == unit.configs[0].eval_recipe
    assert plan.buffer_keys() == {fit.key}

    def no_lookup(name):
        raise AssertionError(f"strategy {name!r} looked up again while running a planned cell")

    monkeypatch.setattr(plan_module, "strategy_class", no_lookup)
    suite.run_plan(plan)
    records = suite.engine.store.records("standard")
    assert sorted(r.config["repeat"] for r in records) == [0, 1]
    assert {(r.role, tuple(r.label_parts)) for r in records} == {("reference", ())}
    assert {r.key for r in records} == {record_key(c) for c in unit.configs}
