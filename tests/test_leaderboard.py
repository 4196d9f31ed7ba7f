"""The leaderboard, figures and `compare`, built from synthetic records written through the store."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from benchmark.buffer import Buffer
from benchmark.report.commands import build_leaderboard, run_compare
from benchmark.report.reported import load_reported
from benchmark.report.tables import build_tables
from benchmark.results.record import Record
from benchmark.results.store import ResultStore

RECIPE = {"epochs": 5, "lr": 0.01}


def config(dataset, suite, profile, strategy, ipc, network="ConvNet", repeat=0, **extra):
    """One network per distillation seed (seed = repeat): the seeds are the rank rule's observations."""
    return {
        "dataset": dataset, "suite": suite, "profile": profile, "spec": strategy,
        "strategy": strategy.split(":")[0], "ipc": ipc, "network": network, "eval_recipe": RECIPE,
        "step": None, "steps": None, "class_order": None, "distill_seed": repeat, "repeat": repeat,
        "eval_seed": repeat,
    } | extra  # fmt: skip


BUDGET = {1: 7840, 10: 78400}
# standard, fashion_mnist, quick: accuracies per (spec, ipc) over 3 seeds.
STANDARD = {
    ("random", 1): [0.50, 0.52, 0.54],
    ("random", 10): [0.70, 0.71, 0.72],
    ("dm", 1): [0.60, 0.62, 0.64],
    ("dm", 10): [0.80, 0.81, 0.79],
    ("speed:k=12:objective=dm", 1): [0.66, 0.68, 0.70],
    ("speed:k=24:objective=dm", 1): [0.65, 0.66, 0.67],
    ("speed:k=12:objective=dm", 10): [0.78, 0.79, 0.80],
    ("whole", 1): [0.93, 0.94, 0.95],
    ("whole", 10): [0.93, 0.94, 0.95],
    ("haba", 10): [0.75, 0.76, 0.77],
}


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    return fill_store(tmp_path_factory.mktemp("results"))


def fill_store(root) -> ResultStore:
    store = ResultStore(root)
    rng = np.random.default_rng(0)
    images = torch.as_tensor(rng.normal(size=(20, 1, 28, 28)), dtype=torch.float32)
    buffer = Buffer("pixels", {"images": images}, {"dataset": "fashion_mnist", "classes": list(range(10))})
    buffer.save(store.buffer_path("dm", "buf-dm-1"))
    for (spec, ipc), values in STANDARD.items():
        for repeat, value in enumerate(values):
            name = spec.split(":")[0]
            storage = 7000.0 + ipc if name != "whole" else 60000 * 784
            store.put(
                Record(
                    config("fashion_mnist", "standard", "quick", spec, ipc, repeat=repeat),
                    "ok",
                    metrics={"accuracy": value},
                    storage=storage * (ipc if name != "whole" else 1),
                    budget=None if name == "whole" else BUDGET[ipc],
                    buffer="buf-dm-1"
                    if (spec, ipc) == ("dm", 1)
                    else ("missing-buf" if spec == "random" else None),
                )
            )
    store.put(Record(config("fashion_mnist", "standard", "quick", "haba", 1), "does_not_fit",
                          storage=9000, budget=7840, numbers={"hallucinators": 9000}))  # fmt: skip
    store.put(Record(config("fashion_mnist", "standard", "quick", "tm", 1), "failed", error="NaN"))
    # cross-arch
    for spec, accs in {"random": (0.5, 0.3), "dm": (0.6, 0.45)}.items():
        for network, acc in zip(("ConvNet", "MLP"), accs, strict=True):
            for repeat in range(2):
                store.put(
                    Record(
                        config("fashion_mnist", "cross-arch", "quick", spec, 1, network, repeat),
                        "ok", metrics={"accuracy": acc + 0.01 * repeat}, storage=7840, budget=7840,
                    )
                )  # fmt: skip
    # continual: 3 steps, 2 class orders
    for spec, base in {"random": 0.4, "dm": 0.5}.items():
        for order in range(2):
            for step in range(3):
                store.put(
                    Record(
                        config("fashion_mnist", "continual", "quick", spec, 2, step=step, steps=3,
                               class_order=order),
                        "ok", metrics={"accuracy": base - 0.1 * step + 0.02 * order}, storage=100, budget=100,
                    )
                )  # fmt: skip
    # corruption
    for spec, base in {"random": 0.4, "dm": 0.5}.items():
        for repeat in range(2):
            metrics = {"accuracy": base, "accuracy/clean": base, "accuracy/mean15": base - 0.15}
            for corruption, drop in (("gaussian_noise", 0.2), ("fog", 0.1)):
                for severity in (1, 2):
                    metrics[f"accuracy/{corruption}/{severity}"] = base - drop * severity / 2 + 0.01 * repeat
            store.put(
                Record(config("fashion_mnist", "corruption", "quick", spec, 1, repeat=repeat), "ok",
                            metrics=metrics, storage=7840, budget=7840)
            )  # fmt: skip
    return store


def _accuracy(store, suite, spec, ipc, network=None):
    frame = pd.DataFrame(
        [{**r.config, "value": r.metrics.get("accuracy"), "status": r.status} for r in store.records(suite)]
    )
    mask = (frame["spec"] == spec) & (frame["ipc"] == ipc) & (frame["status"] == "ok")
    if network:
        mask &= frame["network"] == network
    return frame.loc[mask, "value"] * 100


def _table(store, suite):
    (table,) = [t for t in build_tables(store.records()) if t.suite == suite and t.profile == "quick"]
    return table


def test_standard_table_numbers_bold_gain_and_status(store):
    table = _table(store, "standard")
    assert table.columns == ["IPC 1", "IPC 10"]
    labels = [row[0] for row in table.rows("measured")]
    # sorted by rank (ties by means alone), then the unranked: failed everywhere, the upper bound
    assert labels == ["speed:objective=dm:k=12", "speed:objective=dm:k=24", "dm", "haba", "random", "tm",
                      "whole"]  # fmt: skip
    # the distinguishing key, and the objective (not SPEED's default, TM)
    assert "speed:objective=dm:k=12" in labels and "speed:objective=dm:k=24" in labels
    for (spec, ipc), label in [
        (("dm", 1), "dm"),
        (("speed:k=12:objective=dm", 10), "speed:objective=dm:k=12"),
    ]:
        values = _accuracy(store, "standard", spec, ipc)
        cell = table.cell((label,), f"IPC {ipc}")
        assert cell["mean"] == pytest.approx(values.mean())
        assert cell["std"] == pytest.approx(values.std(ddof=0))
        assert cell["text"] == f"{values.mean():.2f} ± {values.std(ddof=0):.2f}"
    # bold: the top group of each column (its interval against the best contains 0), never whole
    assert table.cell(("speed:objective=dm:k=12",), "IPC 1")["best"]
    assert table.cell(("speed:objective=dm:k=24",), "IPC 1")["best"]  # 66 vs 68, 3 seeds: no difference
    assert table.cell(("dm",), "IPC 10")["best"]
    assert table.cell(("speed:objective=dm:k=12",), "IPC 10")["best"]
    assert not table.cell(("whole",), "IPC 1")["best"]
    assert not table.cell(("dm",), "IPC 1")["best"]  # 62 vs 68: Holm-adjusted interval excludes 0
    column_ranks = {row[0]: table.cell(row, "IPC 1")["rank"] for row in table.rows("measured")}
    assert column_ranks["dm"] == 3 and column_ranks["random"] == 4 and np.isnan(column_ranks["whole"])
    # gain over random at the same budget and setting
    gain = _accuracy(store, "standard", "dm", 1).mean() - _accuracy(store, "standard", "random", 1).mean()
    assert table.cell(("dm",), "IPC 1")["gain"] == pytest.approx(gain)
    assert np.isnan(table.cell(("random",), "IPC 1")["gain"])
    # statuses
    assert table.cell(("haba",), "IPC 1")["text"] == "does not fit"
    assert table.cell(("tm",), "IPC 1")["text"] == "failed"
    assert table.storage[("dm",)] == "IPC 1: 7,001 / 7,840; IPC 10: 70,100 / 78,400"
    assert table.storage[("whole",)].endswith("unbudgeted")


def test_other_suites(store):
    cross = _table(store, "cross-arch")
    assert cross.columns == ["ConvNet", "MLP"]
    values = _accuracy(store, "cross-arch", "dm", 1, "MLP")
    assert cross.cell(("dm", 1), "MLP")["mean"] == pytest.approx(values.mean())
    assert cross.cell(("dm", 1), "MLP")["gain"] == pytest.approx(15.0)

    continual = _table(store, "continual")
    assert continual.columns == ["step 1", "step 2", "step 3", "average incremental", "final"]
    # the second step (index 1), dm: 0.4 and 0.42
    assert continual.cell(("dm", 2, "ConvNet"), "step 2")["mean"] == pytest.approx(41.0)
    assert continual.cell(("dm", 2, "ConvNet"), "average incremental")["mean"] == pytest.approx(41.0)
    assert continual.cell(("dm", 2, "ConvNet"), "average incremental")["std"] == pytest.approx(1.0)
    assert continual.cell(("dm", 2, "ConvNet"), "final")["mean"] == pytest.approx(31.0)

    corruption = _table(store, "corruption")
    assert corruption.columns == ["clean", "mean15", "gaussian_noise", "fog"]
    # dm, gaussian noise: mean over severities (0.4, 0.3) per network, networks +0.00 / +0.01
    cell = corruption.cell(("dm", 1, "ConvNet"), "gaussian_noise")
    assert cell["mean"] == pytest.approx(35.5) and cell["std"] == pytest.approx(0.5)
    assert corruption.cell(("dm", 1, "ConvNet"), "mean15")["mean"] == pytest.approx(35.0)


def test_leaderboard_files(store):
    result = build_leaderboard(store.root)
    markdown = result["markdown"].read_text()
    page = result["html"].read_text()
    assert "## fashion_mnist · standard · quick" in markdown
    dm1 = _accuracy(store, "standard", "dm", 1)
    assert f"{dm1.mean():.2f} ± {dm1.std(ddof=0):.2f}" in markdown
    assert "**68.00 ± 1.63**" in markdown  # speed:objective=dm:k=12 at IPC 1, bold
    assert "does not fit" in markdown and "failed" in markdown
    assert "+8.00" in markdown  # dm − random at IPC 1 (62.00 − 52.00)
    # published numbers: their own block after the ranked table, named as another protocol
    ranked, _, rest = markdown.partition("Published, other protocol (not ranked)")
    assert "| Published | IPC 1 | IPC 10 |" in rest and "| dsa (reported, DSA Table 1) | 70.6 ± 0.6 |" in rest
    assert "reported" not in ranked.split("## fashion_mnist · standard · quick")[1]
    assert "quick profile (evaluation recipe 5 epochs, 3 distillation seeds" in rest
    assert "best mean over several evaluation points" not in markdown  # no SPEED-paper rows here
    assert 'class="best">68.00 ± 1.63' in page and "<script>" in page
    assert "Published, other protocol (not ranked)" in page
    # the summary: each table's headline contrasts with their intervals
    assert "IPC 1: top group speed:objective=dm:k=12, speed:objective=dm:k=24." in markdown
    assert "speed:objective=dm:k=12 − dm +6.00 \\[+0.29, +11.71\\] (ahead)" in markdown
    for url in re.findall(r"""src\s*=\s*["']([^"']*)""", page):  # self-contained: nothing is fetched
        assert not url.startswith(("http://", "https://", "//")), url
    assert "//cdn" not in page and "<link" not in page
    # each method links to its paper and code (from its registration); the reference, random, to none
    assert '<a href="https://arxiv.org/abs/2110.04181">paper</a>' in page
    assert "[paper](https://arxiv.org/abs/2110.04181)" in markdown
    assert "(n=3)" in markdown and "n=3" in page  # networks behind each cell
    assert "commit" in page and "records" in page  # the provenance line of each table
    tables = sorted(p.name for p in (store.root / "tables").glob("*.csv"))
    assert "records.csv" in tables and "fashion_mnist_standard_quick.csv" in tables
    long = pd.read_csv(store.root / "tables" / "fashion_mnist_standard_quick.csv")
    assert {"column", "mean_pct", "std_pct", "gain_pts", "best", "kind"} <= set(long.columns)
    figures = {p.name for p in (store.root / "figures").rglob("*")}
    for stem in ("continual_fashion_mnist_quick_2_ConvNet", "corruption_fashion_mnist_quick_1_ConvNet",
                 "cross-arch_fashion_mnist_quick_1", "storage_fashion_mnist_quick_ConvNet"):  # fmt: skip
        assert f"{stem}.png" in figures and f"{stem}.svg" in figures, stem
    assert any(name.startswith("buffer_dm_") and name.endswith(".png") for name in figures)
    assert any("missing-buf" in note for note in result["notes"])
    assert "data:image/png;base64," in page


def test_reported_numbers():
    reported = load_reported()
    tables = {"Table 1", "Table 2", "Table 3", "Table 4", "Table 5", "DC Table 1", "DSA Table 1"}
    assert set(reported["table"]) == tables
    tm = reported[
        (reported["strategy"] == "tm") & (reported["dataset"] == "cifar10") & (reported["ipc"] == 1)
    ]
    assert sorted(tm.loc[tm["network"] == "ConvNet", "mean"]) == [44.2, 46.3]
    speed = reported[(reported["table"] == "Table 1") & (reported["strategy"] == "speed")]
    assert list(speed["mean"]) == [63.2, 73.5, 77.7, 40.0, 45.9, 49.1, 26.9, 28.8, 30.1]
    fmnist = reported[reported["dataset"] == "fashion_mnist"].set_index(["strategy", "ipc"])["mean"]
    assert fmnist[("dsa", 1)] == 70.6 and fmnist[("dc", 50)] == 83.6


def test_reported_rows_shown_but_never_ranked(tmp_path):
    store = ResultStore(tmp_path)
    for spec, value in (("random", 0.20), ("speed:k=48:objective=tm", 0.90)):
        for repeat in range(2):
            cfg = config("cifar10", "standard", "paper", spec, 1, repeat=repeat)
            metrics = {"accuracy": value + 0.001 * repeat}
            store.put(Record(cfg, "ok", metrics=metrics, storage=30, budget=3072))
    (table,) = build_tables(store.records())
    reported = table.rows("reported")
    assert ("speed:objective=tm (reported, Table 1)",) in reported
    assert ("tm (reported, Table 1)",) in reported
    assert not table.cells.loc[table.cells["kind"] == "reported", "best"].any()
    assert table.cell(("speed",), "IPC 1")["best"]
    markdown = build_leaderboard(tmp_path)["markdown"].read_text()  # the SPEED paper's caution
    assert "best mean over several evaluation points" in markdown


def test_compare(tmp_path, capsys):
    from benchmark.report.commands import COMPARE

    class Args:
        output_dir = tmp_path

    store = ResultStore(tmp_path)
    assert COMPARE.run(Args()) == 0
    assert "no records of the paper profile" in capsys.readouterr().out
    # SPEED (TM) CIFAR10 IPC 1: reported 63.2 ± 0.1 in Table 1; DM: 26.0 ± 0.8.
    for spec, values in (("speed:objective=tm", (0.632, 0.6322)), ("dm", (0.20, 0.21))):
        for repeat, value in enumerate(values):
            store.put(Record(config("cifar10", "standard", "paper", spec, 1, repeat=repeat), "ok",
                                  metrics={"accuracy": value}, storage=3000, budget=3072))  # fmt: skip
    store.put(Record(config("cifar10", "standard", "quick", "dm", 1), "ok", metrics={"accuracy": 0.9}))
    frame = run_compare(tmp_path).set_index("strategy")
    assert frame.loc["speed", "reported"] == "63.2 ± 0.1"
    assert frame.loc["speed", "difference"] == pytest.approx(63.21 - 63.2)
    assert frame.loc["speed", "within_std"] is True or frame.loc["speed", "within_std"] == True  # noqa: E712
    assert frame.loc["dm", "difference"] == pytest.approx(20.5 - 26.0)
    assert not frame.loc["dm", "within_std"]
    assert "Table 1" in frame.loc["dm", "source"]
    assert (tmp_path / "tables" / "compare.csv").is_file()
    assert COMPARE.run(Args()) == 0
    out = capsys.readouterr().out
    assert "63.2 ± 0.1" in out and "2 of 2 rows have a reported counterpart" in out


def test_cli_registration():
    from benchmark.registries import COMMANDS

    assert "leaderboard" in COMMANDS and "compare" in COMMANDS
    assert COMMANDS.get("leaderboard").help and callable(COMMANDS.get("compare").run)


def test_planned_keys_that_change_with_ipc_keep_one_row(tmp_path):
    """SPEED's plan resolves to other D and k at each IPC: still one row, IPC 1 and IPC 10 beside."""
    store = ResultStore(tmp_path)
    specs = {1: "speed:dim=24:k=12:objective=dm", 10: "speed:dim=64:k=24:objective=dm"}
    for ipc, spec in specs.items():
        for strategy in (spec, "dm"):
            cfg = config("fashion_mnist", "standard", "quick", strategy, ipc)
            metrics = {"accuracy": 0.5 + ipc / 100}
            store.put(Record(cfg, "ok", metrics=metrics, storage=7000 * ipc, budget=BUDGET[ipc]))
    table = _table(store, "standard")
    assert [row[0] for row in table.rows("measured")] == ["dm", "speed:objective=dm"]
    assert table.cell(("speed:objective=dm",), "IPC 10")["text"] == "60.00"
    assert list(table.frame().index) == ["dm", "speed:objective=dm"]  # what run and show print
    # specs that differ at one IPC are told apart by that key at every IPC
    store.put(Record(config("fashion_mnist", "standard", "quick", "speed:dim=24:k=6:objective=dm", 1),
                          "ok", metrics={"accuracy": 0.4}, storage=7000, budget=7840))  # fmt: skip
    labels = {row[0] for row in _table(store, "standard").rows("measured")}
    assert labels == {"dm", "speed:objective=dm:k=6", "speed:objective=dm:k=12", "speed:objective=dm:k=24"}


def test_specs_with_other_objectives_are_told_apart_by_the_objective_alone(tmp_path):
    """SPEED × TM and SPEED × DM differ in most keys (their own presets): the labels name the objective
    only; keys are shown where two specs of the same objective differ."""
    store = ResultStore(tmp_path)
    for spec in ("speed:dim=12:k=36:tokens=12:objective=tm", "speed:dim=24:k=12:tokens=16:objective=dm",
                 "speed:dim=24:k=6:tokens=16:objective=dm"):  # fmt: skip
        cfg = config("fashion_mnist", "standard", "quick", spec, 1)
        store.put(Record(cfg, "ok", metrics={"accuracy": 0.5}, storage=7000, budget=7840))
    labels = {row[0] for row in _table(store, "standard").rows("measured")}
    assert labels == {"speed", "speed:objective=dm:k=12", "speed:objective=dm:k=6"}


def test_page_ranks_filters_and_is_well_formed(store):
    from html.parser import HTMLParser

    table = _table(store, "standard")
    ranks = table.ranks()
    assert ranks[("speed:objective=dm:k=12",)] == 1  # best at IPC 1, second at IPC 10: mean rank 1.5
    assert ("whole",) not in ranks and ranks[("random",)] == max(ranks.values())  # never ranked; last
    page = build_leaderboard(store.root)["html"].read_text()
    for name in ("dataset", "suite", "profile", "ipc", "network"):
        assert f'<select name="{name}">' in page
    assert 'data-suite="continual"' in page and 'data-ipc="10"' in page

    class Balance(HTMLParser):
        """Every opened table, section, tr and select is closed, in order."""

        def __init__(self):
            super().__init__()
            self.open: list[str] = []

        def handle_starttag(self, tag, attrs):
            if tag in ("table", "section", "tr", "select", "figure", "details"):
                self.open.append(tag)

        def handle_endtag(self, tag):
            if tag in ("table", "section", "tr", "select", "figure", "details"):
                assert self.open and self.open.pop() == tag, tag

    checker = Balance()
    checker.feed(page)
    assert checker.open == []


def test_show_markdown_and_page_agree_on_ranks_and_the_published_block(store):
    from benchmark.report.render import page_view

    table = _table(store, "standard")
    text = table.text()  # what `run` and `show` print
    ranked, _, published = text.partition("-- Published, other protocol (not ranked)")
    assert "reported" not in ranked and "dsa (reported, DSA Table 1)  70.6 ± 0.6" in published
    lines = ranked.splitlines()[2:]
    assert [line.split()[0] for line in lines] == [row[0] for row in table.rows("measured")]
    assert [line.split()[-1] for line in lines] == ["1", "1", "3", "4", "5", "—", "—"]
    view = page_view([table], store.root)["tables"][0]  # the Markdown and the page render this view
    assert [(r["label"], r["rank"]) for r in view["rows"]][:3] == [
        ("speed:objective=dm:k=12", 1), ("speed:objective=dm:k=24", 1), ("dm", 3)
    ]
    published = ["dc (reported, DC Table 1)", "dsa (reported, DSA Table 1)"]
    assert [r["label"] for r in view["published"]] == published
    assert "random" not in [g["row"]["label"] for g in view["gains"]]  # the reference's own gain: none


def test_commands_carry_no_absolute_path(tmp_path):
    from benchmark.report.render import portable_command

    root = tmp_path / "out"
    command = f"python -m benchmark run --output-dir {root} --data-root=/srv/data/fashion --seeds 0"
    assert portable_command(command, root) == (
        "python -m benchmark run --output-dir . --data-root=.../data/fashion --seeds 0"
    )
    home = f"python -m benchmark run --output-dir {shlex.quote(str(Path.home() / 'runs' / 'a b'))}"
    assert portable_command(home, root) == "python -m benchmark run --output-dir '~/runs/a b'"


def test_storage_figure_shows_every_point_with_plain_ticks_and_no_title(store):
    figures = {Path(f["png"]).stem: f for f in build_leaderboard(store.root)["figures"]}
    figure = figures["storage_fashion_mnist_quick_ConvNet"]
    svg = Path(figure["svg"]).read_text()
    assert figure["title"].startswith("Accuracy against storage") and figure["title"] not in svg
    assert "10^" not in svg and "×10" not in svg and "mathdefault" not in svg
    galleries = [f for f in figures.values() if f["title"].startswith("dm · fashion_mnist · IPC 1")]
    (gallery,) = galleries
    assert "svg" not in gallery and gallery["label"] == "dm" and gallery["ipc"] == 1
    from PIL import Image

    with Image.open(gallery["png"]) as image:  # 10 classes × 2 images: a grid of 10 rows of 2
        assert image.height == 10 * (28 + 2) * 2 + 2 * 2 and image.width > 2 * (28 + 2) * 2
