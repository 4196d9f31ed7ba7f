"""Cross-architecture suite: one record per network × repeat, resumable, per-network recipes."""

from __future__ import annotations

import pytest

import benchmark.training.evaluate as evaluate_module
from benchmark.engine import Engine
from benchmark.options import RunOptions
from benchmark.profiles import Profile, load_profile
from benchmark.registries import SUITES
from benchmark.report.tables import build_tables
from benchmark.suites.cross_arch import CrossArchSuite, learning_rate_study

NETWORKS = ["ConvNet", "MLP", "ResNet18", "ViT"]
TINY_VIT = {"dim": 16, "depth": 1, "heads": 2, "dim_head": 8, "mlp_dim": 16}


def tiny_profile(networks=NETWORKS, repeats=2) -> Profile:
    return Profile(
        "test",
        "tiny",
        {
            "cross-arch": {
                "datasets": ["digits"],
                "strategies": ["random"],
                "ipc": [1],
                "seeds": [0],
                "networks": list(networks),
                "repeats": repeats,
                "recipes": {
                    "default": {"epochs": 2, "lr": 0.01, "dsa": None, "test_subset": 3},
                    "ConvNet": {"network_options": {"width": 8}},
                    "ResNet18": {"lr": 0.05, "network_options": {"widths": [4, 4, 4, 4]}},
                    "ViT": {"network_options": TINY_VIT},
                },
            }
        },
    )


def make_suite(tmp_path, profile, **options):
    run_options = RunOptions(
        suite="cross-arch", output_dir=tmp_path / "out", device="cpu", show_progress=False, **options
    )
    engine = Engine(run_options.engine, profile)
    return CrossArchSuite(run_options, profile, engine), engine


def run_all(suite) -> None:
    for cell in suite.cells():
        suite.run_cell(cell)


def count_trainings(monkeypatch) -> list[str]:
    calls: list[str] = []
    original = evaluate_module.train_network

    def counting(net, *args, **kwargs):
        calls.append(kwargs.get("desc", ""))
        return original(net, *args, **kwargs)

    monkeypatch.setattr(evaluate_module, "train_network", counting)
    return calls


def test_registered():
    assert SUITES.get("cross-arch") is CrossArchSuite


def test_one_record_per_network_and_repeat_and_resume(tmp_path, monkeypatch):
    calls = count_trainings(monkeypatch)
    suite, engine = make_suite(tmp_path, tiny_profile())
    run_all(suite)
    records = engine.store.records("cross-arch")
    assert len(records) == len(NETWORKS) * 2 == len(calls)
    assert sorted((r.config["network"], r.config["repeat"]) for r in records) == sorted(
        (n, r) for n in NETWORKS for r in range(2)
    )
    assert all(r.status == "ok" and 0 <= r.metrics["accuracy"] <= 1 for r in records)
    by_network = {r.config["network"]: r.config["eval_recipe"] for r in records}
    assert by_network["ResNet18"]["lr"] == 0.05 and by_network["MLP"]["lr"] == 0.01
    assert by_network["ViT"]["network_options"]["dim"] == 16

    (table,) = build_tables(records)
    frame = table.frame()
    assert list(frame.columns) == [*NETWORKS, "storage / budget"]
    assert frame.index.names == ["label", "ipc"]

    calls.clear()  # a second run resumes: nothing is trained again
    suite, engine = make_suite(tmp_path, tiny_profile())
    run_all(suite)
    assert calls == [] and len(engine.store.records("cross-arch")) == len(NETWORKS) * 2


def test_networks_flag_and_unknown_network(tmp_path):
    suite, _ = make_suite(tmp_path, tiny_profile(), networks=["AlexNet", "VGG11"])
    assert suite.settings["networks"] == ["AlexNet", "VGG11"]
    suite, _ = make_suite(tmp_path, tiny_profile(), networks=["NoSuchNet"])
    with pytest.raises(KeyError, match="NoSuchNet"):
        suite.cells()


def test_learning_rate_study_uses_validation(tmp_path, monkeypatch):
    suite, engine = make_suite(tmp_path, tiny_profile(["MLP"]))
    data = engine.buffers.data("digits")
    seen = []
    original = evaluate_module.test_accuracy

    def spy(net, split, *args, **kwargs):
        seen.append(len(split))
        return original(net, split, *args, **kwargs)

    monkeypatch.setattr(evaluate_module, "test_accuracy", spy)
    rows = learning_rate_study(suite, "digits", "MLP", [0.01, 0.1], "random")
    assert [r["lr"] for r in rows] == [0.01, 0.1]
    assert all(0 <= r["val_accuracy"] <= 1 for r in rows)
    expected = 3 * len(data.classes)  # the recipe's test_subset applied to the validation split
    assert seen == [expected, expected] and len(data.val) != len(data.test)
    assert engine.store.records("cross-arch") == []  # a study writes no records


@pytest.mark.parametrize("profile_name", ["quick", "paper"])
def test_profiles_have_valid_recipes(profile_name):
    from benchmark.nets import create_network
    from benchmark.spec import parse_spec
    from benchmark.strategy import resolve

    profile = load_profile(profile_name)
    for name in ("cross-arch", "corruption"):
        suite = SUITES.get(name)(RunOptions(profile=profile_name), profile, None)
        resolved = resolve(parse_spec("random"), profile_name, "fashion_mnist", 1)
        for network in suite.settings["networks"] + ["AlexNet", "VGG11"]:
            recipe = suite.recipe(network, resolved, "fashion_mnist", 1)
            create_network(network, 1, 28, 10, **recipe.network_options)
