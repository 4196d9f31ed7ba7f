"""`--eval-lr`: every buffer trains at one fixed lr, recorded in the recipe and named in table labels."""

import math

import pytest

import benchmark.training.evaluate as evaluate_module
from benchmark.cli import main
from benchmark.errors import UserInputError
from benchmark.options import RunOptions
from benchmark.report.tables import build_tables
from benchmark.results.store import ResultStore

SMOKE = ["--profile", "smoke", "--dataset", "digits", "--ipc", "1", "--repeats", "1", "--no-progress"]


@pytest.fixture
def optimizer_lrs(monkeypatch):
    """The lr of every optimizer an evaluation network is trained with, in order."""
    seen = []
    original = evaluate_module.make_optimizer

    def spy(net, lr, recipe):
        seen.append(lr)
        return original(net, lr, recipe)

    monkeypatch.setattr(evaluate_module, "make_optimizer", spy)
    return seen


@pytest.mark.parametrize("value", [0.0, -0.01, math.nan, math.inf])
def test_an_lr_that_cannot_train_is_refused_before_any_work(value, tmp_path, capsys):
    with pytest.raises(UserInputError, match="--eval-lr .* must be a finite number > 0"):
        RunOptions(eval_lr=value)
    argv = ["run", *SMOKE, "--strategies", "random", "--eval-lr", str(value), "--output-dir", str(tmp_path)]
    assert main(argv) != 0
    assert "--eval-lr" in capsys.readouterr().err
    assert not any(tmp_path.iterdir())


def test_run_trains_at_the_common_lr_records_it_and_labels_say_so(tmp_path, optimizer_lrs, capsys):
    base = ["run", *SMOKE, "--strategies", "tm", "--output-dir", str(tmp_path)]
    assert main(base) == 0
    learned = optimizer_lrs[0]
    assert learned != pytest.approx(0.05)  # trained at the buffer's learned lr (× 0.1 after half)
    assert optimizer_lrs == pytest.approx([learned, learned / 10])
    optimizer_lrs.clear()
    capsys.readouterr()
    assert main([*base, "--eval-lr", "0.05"]) == 0
    assert optimizer_lrs == pytest.approx([0.05, 0.005])  # the same buffer at the common lr
    printed = capsys.readouterr().out
    records = ResultStore(tmp_path).records("standard")
    assert len(records) == 2 and len({r.key for r in records}) == 2
    recipes = [r.config["eval_recipe"] for r in records]
    assert sorted((r["lr"], r["use_buffer_lr"]) for r in recipes) == [(0.01, True), (0.05, False)]
    assert len({r.config["distill_seed"] for r in records}) == 1  # one buffer, two recipes
    (table,) = build_tables(records)
    labels = sorted(table.cells["label"])
    assert labels == ["tm [lr=0.01, use_buffer_lr=true]", "tm [lr=0.05, use_buffer_lr=false]"]
    assert "tm [lr=0.05, use_buffer_lr=false]" in printed


def test_evaluate_takes_the_common_lr(tmp_path, optimizer_lrs, capsys):
    assert main(["distill", "--strategy", "tm", "--dataset", "digits", "--ipc", "1", "--profile", "smoke",
                 "--no-progress", "--output-dir", str(tmp_path)]) == 0  # fmt: skip
    buffer = capsys.readouterr().out.strip().splitlines()[-1]
    argv = ["evaluate", buffer, "--profile", "smoke", "--split", "val", "--no-progress",
            "--output-dir", str(tmp_path)]  # fmt: skip
    assert main([*argv, "--eval-lr", "0.05"]) == 0
    assert optimizer_lrs == pytest.approx([0.05, 0.005])
    assert main([*argv, "--eval-lr", "nan"]) != 0
    assert "--eval-lr nan is out of range" in capsys.readouterr().err
