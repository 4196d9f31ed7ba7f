"""The cell plan and the options split: a cell is planned once (spec, class, data, budget, keys,
recipes, record configs) and run from its plan with no strategy looked up again; the engine takes
its own options, apart from the run's selection and the executor's."""

from __future__ import annotations

import pytest

from benchmark.engine import Engine
from benchmark.options import EngineOptions, ExecutionOptions, RunOptions, Selection
from benchmark.profiles import load_profile
from benchmark.registries import STRATEGIES, SUITES
from benchmark.results.record import record_key


def test_flat_options_go_to_the_part_that_owns_them():
    options = RunOptions(profile="smoke", ipcs=[1], device="cpu", precision="bf16", workers=2)
    assert options.selection == Selection(profile="smoke", ipcs=[1])
    assert options.engine == EngineOptions(device="cpu", precision="bf16")
    assert options.execution == ExecutionOptions(workers=2)
    forced = options.replace(force=True)
    assert forced.engine.force and forced.selection == options.selection
    other = options.replace(selection=Selection(suite="continual"), force=True)
    assert other.selection == Selection(suite="continual") and other.engine == forced.engine
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

    monkeypatch.setattr(STRATEGIES, "get", no_lookup)  # every lookup by name goes through the registry
    suite.run_plan(plan)
    records = suite.engine.store.records("standard")
    assert sorted(r.config["repeat"] for r in records) == [0, 1]
    assert {(r.role, tuple(r.label_parts)) for r in records} == {("reference", ())}
    assert {r.key for r in records} == {record_key(c) for c in unit.configs}


def test_a_buffer_shared_by_units_is_planned_once(tmp_path):
    """Step t of a continual cell trains on the buffers of steps 0…t: each step's fit is planned (its
    spec resolved, its key computed) once and shared by the units that use it."""
    options = RunOptions(
        suite="continual", profile="smoke", strategies=["random"], ipcs=[1], class_orders=[0],
        output_dir=tmp_path, device="cpu", show_progress=False,
    )  # fmt: skip
    profile = load_profile("smoke")
    suite = SUITES.get("continual")(options, profile, Engine(options.engine, profile))
    (cell,) = suite.cells()
    plan = suite.plan(cell)
    steps = len(plan.units)
    assert steps == 5 and [len(unit.fits) for unit in plan.units] == [1, 2, 3, 4, 5]
    assert len(plan.buffer_keys()) == steps
    assert len({id(fit) for unit in plan.units for fit in unit.fits}) == steps
    for before, after in zip(plan.units, plan.units[1:], strict=False):
        assert all(shared is fit for shared, fit in zip(after.fits[:-1], before.fits, strict=True))
