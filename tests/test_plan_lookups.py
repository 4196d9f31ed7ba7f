"""A cell's strategy class is looked up once, where its spec is first resolved, and travels with the
resolved spec and the plan; it never enters a key."""

from __future__ import annotations

from collections import Counter

import pytest

from benchmark.engine import Engine
from benchmark.options import RunOptions
from benchmark.profiles import load_profile
from benchmark.registries import STRATEGIES, SUITES
from benchmark.strategy import ResolvedSpec


def smoke_standard(tmp_path, eval_recipe: str):
    options = RunOptions(profile="smoke", strategies=["random", "dm", "whole"], ipcs=[1], output_dir=tmp_path,
                         device="cpu", show_progress=False, eval_recipe=eval_recipe)  # fmt: skip
    profile = load_profile("smoke")
    return SUITES.get("standard")(options, profile, Engine(options.engine, profile))


@pytest.mark.parametrize("eval_recipe", ["suite", "original"])
def test_planning_a_cell_looks_its_strategy_up_once(tmp_path, monkeypatch, eval_recipe):
    suite = smoke_standard(tmp_path, eval_recipe)
    cells = suite.cells()
    lookups: Counter[str] = Counter()
    real_get = STRATEGIES.get

    def counting_get(name):  # strategy_class and every other lookup by name go through the registry
        lookups[name] += 1
        return real_get(name)

    monkeypatch.setattr(STRATEGIES, "get", counting_get)
    plans = {cell.spec: suite.plan(cell) for cell in cells}
    assert lookups == {"random": 1, "dm": 1, "whole": 1}
    assert {spec: plan.strategy.name for spec, plan in plans.items()} == {
        "random": "random", "dm": "dm", "whole": "whole",
    }  # fmt: skip
    assert all(fit.strategy is plan.strategy for plan in plans.values() for u in plan.units for fit in u.fits)
    assert plans["whole"].budget is None and plans["dm"].budget.floats == 10 * 64


def test_the_class_is_no_part_of_a_resolved_spec_or_its_key(tmp_path):
    suite = smoke_standard(tmp_path, "suite")
    resolved = suite.engine.buffers.resolve("random", "digits", 1)
    by_hand = ResolvedSpec("random", dict(resolved.config))
    assert by_hand == resolved and by_hand.strategy is resolved.strategy is STRATEGIES.get("random")
    data = suite.engine.buffers.data("digits")
    assert suite.engine.buffers.key(data, by_hand, 1, 0) == suite.engine.buffers.key(data, resolved, 1, 0)
