"""Result folders written before the round-2 names (``strategy`` = spec, ``strategy_name``, no
``role``, cache version 1) are still read by `show` and the leaderboard; `run` says in one line that
it does not resume them."""

from __future__ import annotations

import json

from benchmark.cli import main
from benchmark.results.store import ResultStore


def old_record(spec: str, accuracy: float, repeat: int) -> dict:
    from benchmark.results.record import record_key

    record = {
        "config": {
            "dataset": "digits", "suite": "standard", "profile": "smoke", "strategy": spec,
            "strategy_name": spec.split(":")[0], "ipc": 1, "network": "ConvNet",
            "eval_recipe": {"epochs": 30, "name": "dsa"}, "step": None, "steps": None, "class_order": None,
            "distill_seed": 0, "repeat": repeat, "eval_seed": repeat,
        },
        "status": "ok", "metrics": {"accuracy": accuracy}, "storage": 640.0, "budget": 640,
        "learned_lr": None, "wall_time_s": {}, "error": None, "numbers": {}, "buffer": None,
        "code": {"version": "0.1.0", "cache_version": 1, "git_commit": None},
        "created": "2026-11-28T00:00:00+00:00",
    }  # fmt: skip
    return record | {"key": record_key(record["config"], record["code"])}  # as that version keyed it


def write_old_folder(root):
    folder = root / "records" / "standard"
    folder.mkdir(parents=True)
    for spec, accuracies in (("random", (0.40, 0.42)), ("dm:iterations=5", (0.60, 0.64))):
        for repeat, accuracy in enumerate(accuracies):
            record = old_record(spec, accuracy, repeat)
            (folder / f"{record['key']}.json").write_text(json.dumps(record))


def test_show_and_leaderboard_read_an_old_folder(tmp_path, capsys):
    write_old_folder(tmp_path)
    records = ResultStore(tmp_path).records()
    assert {r.config["spec"] for r in records} == {"random", "dm:iterations=5"}
    assert {r.config["strategy"] for r in records} == {"random", "dm"}
    assert {r.role for r in records if r.config["strategy"] == "random"} == {"reference"}
    assert main(["show", "--output-dir", str(tmp_path)]) == 0
    shown = capsys.readouterr().out
    assert "41.00 ± 1.00" in shown and "62.00 ± 2.00" in shown
    assert main(["leaderboard", "--output-dir", str(tmp_path), "--no-figures"]) == 0
    markdown = (tmp_path / "leaderboard.md").read_text()
    assert "+21.00" in markdown  # dm over random, which the registry says is the reference


def test_run_says_it_does_not_resume_old_records(tmp_path, capsys):
    write_old_folder(tmp_path)
    args = ["run", "--profile", "smoke", "--strategies", "random", "--ipc", "1", "--repeats", "1",
            "--no-progress", "--output-dir", str(tmp_path)]  # fmt: skip
    assert main(args) == 0
    err = capsys.readouterr().err.strip().splitlines()
    notes = [line for line in err if "earlier version" in line]
    assert len(notes) == 1 and "4 records" in notes[0] and "does not resume them" in notes[0]


def test_run_says_it_does_not_resume_records_of_a_renamed_key(tmp_path, capsys):
    """SPEED's ``init_lr`` is ``init_fit_lr`` since round 3: a record whose resolved spec names it
    still reads, and ``run`` says in one line that it does not resume it."""
    from benchmark.results.record import Record

    spec = "speed:init_lr=0.005:iterations=3:objective=dm"
    config = {
        "dataset": "digits", "suite": "standard", "profile": "smoke", "spec": spec, "strategy": "speed",
        "ipc": 1, "network": "ConvNet", "distill_seed": 0, "repeat": 0, "eval_seed": 0,
    }  # fmt: skip
    store = ResultStore(tmp_path)
    store.put(Record(config, "ok", metrics={"accuracy": 0.5}))
    (record,) = ResultStore(tmp_path).records()
    assert record.config["spec"] == spec and record.metrics == {"accuracy": 0.5}
    args = ["run", "--profile", "smoke", "--strategies", "random", "--ipc", "1", "--repeats", "1",
            "--no-progress", "--output-dir", str(tmp_path)]  # fmt: skip
    assert main(args) == 0
    notes = [line for line in capsys.readouterr().err.splitlines() if "earlier version" in line]
    assert len(notes) == 1 and "1 records" in notes[0] and "does not resume them" in notes[0]
