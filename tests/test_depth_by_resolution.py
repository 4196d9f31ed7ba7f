"""The ConvNet's depth follows the image side in the paper profile (docs/protocol.md §0): depth 3 up to
32 px, ConvNetD4 at 64 px (TinyImageNet), ConvNetD5 at 128 px (ImageNet subsets), for distillation
and for evaluation; the records name the network that was trained."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

import benchmark.suites.base as suite_base
from benchmark.engine import Engine
from benchmark.nets import convnet_for
from benchmark.options import RunOptions
from benchmark.profiles import Profile, load_profile
from benchmark.registries import SUITES
from benchmark.spec import parse_spec
from benchmark.strategy import resolve
from benchmark.suites.base import Cell, Unit

EXPECTED = {
    "cifar10": "ConvNet",
    "cifar100": "ConvNet",
    "fashion_mnist": "ConvNet",
    "mnist": "ConvNet",
    "digits": "ConvNet",
    "tinyimagenet": "ConvNetD4",
    "imagenette": "ConvNetD5",
    "imagewoof": "ConvNetD5",
    "imagefruit": "ConvNetD5",
    "imagemeow": "ConvNetD5",
    "imagesquawk": "ConvNetD5",
    "imageyellow": "ConvNetD5",
}


@pytest.mark.parametrize("dataset", sorted(EXPECTED))
def test_convnet_for_each_dataset(dataset):
    assert convnet_for(dataset) == EXPECTED[dataset]


@pytest.mark.parametrize("dataset", sorted(EXPECTED))
@pytest.mark.parametrize("spec", ["tm", "speed", "dm", "dc", "dsa"])
def test_paper_distillation_network(spec, dataset):
    assert resolve(parse_spec(spec), "paper", dataset, 1).config["network"] == EXPECTED[dataset]


@pytest.mark.parametrize("profile", ["quick", "smoke"])
def test_other_profiles_keep_the_depth_3_convnet(profile):
    for spec in ("tm", "speed", "dm"):
        assert resolve(parse_spec(spec), profile, "tinyimagenet", 1).config["network"] == "ConvNet"


def test_a_given_network_overrides_the_paper_choice():
    config = resolve(parse_spec("tm:network=ConvNet"), "paper", "imagenette", 1).config
    assert config["network"] == "ConvNet"


def configs(suite_name: str, profile_name: str, dataset: str) -> list[dict]:
    suite = SUITES.get(suite_name)(RunOptions(profile=profile_name), load_profile(profile_name), None)
    resolved = resolve(parse_spec("random"), profile_name, dataset, 1)
    unit = Unit(SimpleNamespace(preprocessing="meanstd"), [], test=None)
    fit = SimpleNamespace(resolved=resolved, key="key")
    planned = suite.unit_plan(Cell(dataset, "random", 1, 0), unit, [fit])
    found = [config.to_dict() for config in planned.configs]
    for config in found:  # the recipe a run trains with is the one recorded (ConvNet's for the stand-in)
        assert suite.recipe(config["network"], resolved, dataset, 1).describe() == config["eval_recipe"]
        assert planned.recipes[config["network"]].describe() == config["eval_recipe"]
    return found


PAPER_NETWORKS = {
    "standard": {"cifar10": ["ConvNet"], "tinyimagenet": ["ConvNetD4"], "imagewoof": ["ConvNetD5"]},
    "cross-arch": {
        "cifar100": ["ConvNet", "MLP", "ResNet18", "ViT"],
        "tinyimagenet": ["ConvNetD4", "MLP", "ResNet18", "ViT"],
        "imagenette": ["ConvNetD5", "MLP", "ResNet18", "ViT"],
    },
    "corruption": {"cifar10": ["ConvNet", "ResNet18"], "imagesquawk": ["ConvNetD5", "ResNet18"]},
}


@pytest.mark.parametrize("suite_name", sorted(PAPER_NETWORKS))
def test_paper_evaluation_network_is_named_in_the_records(suite_name):
    for dataset, networks in PAPER_NETWORKS[suite_name].items():
        found = configs(suite_name, "paper", dataset)
        assert list(dict.fromkeys(c["network"] for c in found)) == networks


def test_quick_evaluation_keeps_the_listed_convnet():
    assert {c["network"] for c in configs("standard", "quick", "tinyimagenet")} == {"ConvNet"}
    assert {c["network"] for c in configs("cross-arch", "quick", "imagenette")} == {
        "ConvNet", "MLP", "ResNet18", "ViT",
    }  # fmt: skip


def test_run_trains_the_stand_in_with_convnets_recipe(tmp_path, monkeypatch):
    """A run trains the resolved network under the recipe listed for ConvNet and records its name
    (digits are 8 px, so the mapping is replaced by one that fits them)."""
    import benchmark.training.evaluate as evaluate_module

    monkeypatch.setattr(suite_base, "convnet_for", lambda dataset: "MLP")
    built: list[tuple[str, dict]] = []
    original = evaluate_module.create_network

    def spy(name, *args, **options):
        built.append((name, options))
        return original(name, *args, **options)

    monkeypatch.setattr(evaluate_module, "create_network", spy)
    settings = {
        "datasets": ["digits"], "strategies": ["random"], "ipc": [1], "seeds": [0], "repeats": 1,
        "networks": ["ConvNet"], "convnet_by_resolution": True,
        "recipes": {"default": {"epochs": 1, "lr": 0.01, "dsa": None}, "ConvNet": {"batch_size": 7}},
    }  # fmt: skip
    profile = Profile("test", "tiny", {"standard": settings})
    options = RunOptions(output_dir=tmp_path / "out", device="cpu", show_progress=False)
    suite = SUITES.get("standard")(options, profile, Engine(options.engine, profile))
    for cell in suite.cells():
        suite.run_cell(cell)
    (record,) = suite.engine.store.records("standard")
    assert record.config["network"] == "MLP" and record.status == "ok"
    assert record.config["eval_recipe"]["batch_size"] == 7  # ConvNet's recipe
    assert [name for name, _ in built] == ["MLP"]
