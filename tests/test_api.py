"""The Python API (docs/api.md) and the CLI around it: ``results.table`` is ``show``'s table as numbers
(ddof 0), ``list`` takes a kind or a pattern, help states each default once, ``show`` filters by
dataset and prints Markdown."""

from __future__ import annotations

import re

import pytest

from benchmark.cli import build_parser, main
from benchmark.errors import UserInputError

SMOKE = ["--profile", "smoke", "--no-progress", "--device", "cpu"]


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    out = tmp_path_factory.mktemp("api") / "results"
    args = [
        "run",
        *SMOKE,
        "--strategies",
        "random",
        "--ipc",
        "1,2",
        "--repeats",
        "3",
        "--output-dir",
        str(out),
    ]
    assert main(args) == 0
    return out


def test_table_is_the_shown_table_as_numbers_with_population_std(results, capsys):
    from benchmark.results import load, table

    frame = table(results, "standard")
    assert frame.attrs["title"] == "digits · standard · smoke"
    assert list(frame.index) == ["random"]
    assert list(frame.columns.get_level_values(0).unique()) == ["IPC 1", "IPC 2"]
    long = load(results)
    accuracy = long[long.metric == "accuracy"]
    for ipc in (1, 2):
        values = accuracy[accuracy.ipc == ipc].value_pct
        assert frame.loc["random", (f"IPC {ipc}", "mean")] == pytest.approx(values.mean())
        assert frame.loc["random", (f"IPC {ipc}", "std")] == pytest.approx(values.std(ddof=0))
        assert frame.loc["random", (f"IPC {ipc}", "n")] == 3
        assert frame.loc["random", (f"IPC {ipc}", "budget")] == ipc * 640
    assert values.std(ddof=0) != pytest.approx(values.std())  # pandas' default differs
    main(["show", "--output-dir", str(results)])
    mean, std = frame.loc["random", ("IPC 2", "mean")], frame.loc["random", ("IPC 2", "std")]
    assert f"{mean:.2f} ± {std:.2f}" in capsys.readouterr().out
    with pytest.raises(UserInputError, match="no records of suite 'continual'"):
        table(results, "continual")


def test_show_filters_by_dataset_and_prints_markdown(results, capsys):
    capsys.readouterr()
    assert main(["show", "--output-dir", str(results), "--dataset", "digits", "--format", "markdown"]) == 0
    out = capsys.readouterr().out
    assert "## digits · standard · smoke" in out and re.search(r"^\| random \| \d", out, re.M)
    assert main(["show", "--output-dir", str(results), "--dataset", "mnist"]) == 0
    assert capsys.readouterr().out.strip() == "no records"
    assert main(["show", "--output-dir", str(results), "--dataset", "digitz"]) == 2
    assert "Did you mean 'digits'" in capsys.readouterr().err


def test_list_takes_a_kind_or_a_pattern(capsys):
    assert main(["list", "networks"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("networks:\n") and "ConvNet" in out and "strategies:" not in out
    assert main(["list", "Res*"]) == 0
    names = [line.split()[0] for line in capsys.readouterr().out.splitlines() if line.startswith("  ")]
    assert names and all(name.startswith("ResNet") for name in names)
    assert main(["list", "strategy", "d?"]) == 0
    assert {"dc", "dm"} <= {line.split()[0] for line in capsys.readouterr().out.splitlines()[1:]}
    assert main(["list", "networks", "zzz"]) == 2
    assert "no name among the networks matches 'zzz'" in capsys.readouterr().err


@pytest.mark.parametrize("command", ["run", "evaluate", "export", "show", "distill", "list", "leaderboard"])
def test_help_states_each_default_once(command):
    parser = build_parser([command])
    sub = next(a for a in parser._actions if a.dest == "command").choices[command]
    formatter = sub._get_formatter()
    helps = [formatter._expand_help(action) for action in sub._actions if action.help]
    assert helps
    for text in helps:
        assert text.count("(default") <= 1, text
        assert "(default: None)" not in text and "(default: False)" not in text, text
