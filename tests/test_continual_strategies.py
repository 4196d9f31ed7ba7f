"""Every budgeted method runs in the continual suite (smoke profile, digits, 5 steps of 2 classes):
trajectory matching trains its experts on the step's classes only, and a buffer that cannot fit a
step's budget is a ``does_not_fit`` record, never a crash."""

from __future__ import annotations

import json

import pytest
from safetensors import safe_open

import baselines.experts as experts
from benchmark.continual.stream import class_order
from benchmark.options import RunOptions
from benchmark.results.store import ResultStore
from benchmark.runner import run

STEPS = [sorted(class_order(0, 10)[i : i + 2]) for i in range(0, 10, 2)]


def continual_run(tmp_path, spec: str, ipc: int = 2):
    options = RunOptions(
        suite="continual",
        profile="smoke",
        strategies=[spec],
        ipcs=[ipc],
        output_dir=tmp_path,
        show_progress=False,
    )
    (table,) = run(options)
    records = sorted(ResultStore(tmp_path).records("continual"), key=lambda r: r.config["step"])
    return table, records


@pytest.mark.parametrize("spec", ["tm", "speed"])
def test_trajectory_matching_trains_each_steps_experts_on_its_classes_only(tmp_path, monkeypatch, spec):
    trained = []
    original = experts.train_expert

    def spy(data, recipe, seed, index, *args, **kwargs):
        indices = experts.training_indices(data, recipe.subset, seed)
        trajectory, layout = original(data, recipe, seed, index, *args, **kwargs)
        outputs = [shape for name, shape in layout if name.endswith("weight")][-1][0]  # the classifier's
        trained.append({"classes": list(data.classes), "labels": set(data.train.labels[indices].tolist()),
                        "outputs": outputs})  # fmt: skip
        return trajectory, layout

    monkeypatch.setattr(experts, "train_expert", spy)
    _, records = continual_run(tmp_path, spec)
    assert [r.status for r in records] == ["ok"] * 5
    assert [sorted(t["classes"]) for t in trained] == STEPS  # one smoke expert per step
    assert [sorted(t["labels"]) for t in trained] == STEPS  # the images it saw: the step's classes
    assert {t["outputs"] for t in trained} == {10}  # labels keep their global ids: every class's output
    cached = sorted((tmp_path / "cache" / "experts").rglob("expert_0000.safetensors"))
    seen = []
    for path in cached:  # the cache key names the classes its experts were trained on
        with safe_open(str(path), framework="pt") as handle:
            seen.append(sorted(json.loads(handle.metadata()["content"])["classes"]))
    assert sorted(seen) == sorted(STEPS)


@pytest.mark.parametrize("spec", ["dc", "dsa", "kcenter", "forgetting"])
def test_every_budgeted_method_runs_in_the_continual_suite(tmp_path, spec):
    table, records = continual_run(tmp_path, spec)
    assert [(r.config["step"], r.status) for r in records] == [(t, "ok") for t in range(5)]
    assert all(r.storage <= r.budget for r in records)
    assert [r.budget for r in records] == [2 * 2 * 64 * (t + 1) for t in range(5)]  # the memory's budget
    assert table.frame()["final"].notna().all()


def test_haba_runs_where_it_fits_and_is_does_not_fit_where_it_cannot(tmp_path):
    table, records = continual_run(tmp_path / "tiny", "haba", ipc=1)
    assert [r.status for r in records] == ["does_not_fit"] * 5  # 5 hallucinators exceed 2 × 1 × 64 floats
    assert "does not fit" in records[0].error
    assert set(table.frame()["final"]) == {"does not fit"}
    _, records = continual_run(tmp_path / "fits", "haba", ipc=12)
    assert [r.status for r in records] == ["ok"] * 5
    assert all(r.storage <= r.budget for r in records)
