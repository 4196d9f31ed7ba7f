import argparse
import json

import pytest

from benchmark.errors import DoesNotFitError, UserInputError
from speed.planner import PAPER, PLANNER, dataset_shape, default_architecture, paper_preset, plan

PUBLISHED = {
    ("cifar10", 1): 17, ("cifar10", 10): 124, ("cifar10", 50): 272,
    ("cifar100", 1): 11, ("cifar100", 10): 62, ("cifar100", 50): 100,
    ("tinyimagenet", 1): 17, ("tinyimagenet", 10): 78,
    ("imagenette", 1): 15, ("imagenette", 10): 111,
}  # fmt: skip


@pytest.mark.parametrize("dataset,ipc", sorted(PUBLISHED))
def test_all_ten_paper_rows(dataset, ipc):
    image_shape, classes = dataset_shape(dataset)
    result = plan(classes, ipc, image_shape, **default_architecture(dataset, ipc))
    assert (
        result.images_per_class == PUBLISHED[(dataset, ipc)] == paper_preset(dataset, ipc)["images_per_class"]
    )
    assert result.total <= result.budget
    assert result.total == result.saet + result.codes + result.freenet
    # one more image per class would not fit: the published N/c is eq. 7's maximum
    assert result.total + 1.5 * result.heads * result.k * classes > result.budget
    assert len(PAPER) == 10


def test_paper_example_cifar100_ipc1():
    result = plan(100, 1, (3, 32, 32), dim=96, tokens=64, heads=3, k=48, depth=2, patch=4)
    assert result.images == 1100 and result.patches == 64 and result.patch_len == 48
    assert result.freenet == 2 * (3 * 96**2 + 7 * 96) + 48 * 97


def test_imagenet_lambda_depends_on_subset():
    assert paper_preset("imagenette", 1)["lam"] == 7e-7
    assert paper_preset("imagewoof", 1)["lam"] == 3e-7
    assert paper_preset("fashion_mnist", 1) is None


@pytest.mark.parametrize("objective,per_class", [("tm", 6), ("dm", 14)])
def test_fashion_mnist_default_fits_native_budget(objective, per_class):
    result = plan(10, 1, (1, 28, 28), **default_architecture("fashion_mnist", 1, objective))
    assert result.budget == 7840 and result.total <= 7840 and result.images_per_class == per_class


@pytest.mark.parametrize(
    "changes,error,words",
    [
        (dict(patch=5), UserInputError, "does not divide"),
        (dict(dim=10, heads=3), UserInputError, "not divisible by heads"),
        (dict(tokens=300), UserInputError, "256"),
        (dict(patch=1), UserInputError, "256"),
        (dict(k=49 * 16 + 1), UserInputError, "J·K"),
        (dict(dim=64, depth=2), DoesNotFitError, "no image per class"),
    ],
)
def test_errors(changes, error, words):
    arch = dict(dim=24, tokens=16, heads=2, k=12, depth=1, patch=4) | changes
    with pytest.raises(error, match=words):
        plan(10, 1, (1, 28, 28), **arch)


def test_does_not_fit_carries_numbers_and_requested_count_is_checked():
    arch = dict(dim=24, tokens=16, heads=2, k=12, depth=1, patch=4)
    with pytest.raises(DoesNotFitError) as info:
        plan(10, 1, (1, 28, 28), **(arch | dict(dim=64, depth=2)))
    assert info.value.numbers["budget"] == 7840
    assert plan(10, 1, (1, 28, 28), images_per_class=5, **arch).images == 50
    with pytest.raises(DoesNotFitError, match="images_per_class=99"):
        plan(10, 1, (1, 28, 28), images_per_class=99, **arch)


def _run(argv, capsys):
    parser = argparse.ArgumentParser()
    PLANNER.add_arguments(parser)
    assert PLANNER.run(parser.parse_args(argv)) == 0
    return capsys.readouterr().out


def test_cli_json_and_table(capsys):
    out = json.loads(_run(["--dataset", "cifar100", "--ipc", "1", "--json"], capsys))
    assert out["images_per_class"] == 11 and out["images"] == 1100 and out["budget"] == 307200
    assert {"saet", "codes", "freenet", "total"} <= set(out)
    out = json.loads(_run(["--dataset", "fashion_mnist", "--ipc", "1", "--k", "8", "--json"], capsys))
    assert out["k"] == 8 and out["total"] <= 7840
    text = _run(["--dataset", "fashion_mnist", "--ipc", "1"], capsys)
    assert "per class" in text and "budget" in text
    # half the classes: not the 100-class row (7 per class) but the rule's plan for the fit
    out = json.loads(_run(["--dataset", "cifar100", "--ipc", "1", "--classes", "50", "--json"], capsys))
    assert out["classes"] == 50 and out["images_per_class"] == 18
    assert [out[key] for key in ("dim", "tokens", "heads", "k", "depth", "patch")] == [64, 32, 2, 48, 1, 4]
    assert out["codes_per_patch"] == 1.5 and out["total"] == 17904 + 1.5 * 2 * 48 * 900


def test_cli_unknown_dataset(capsys):
    parser = argparse.ArgumentParser()
    PLANNER.add_arguments(parser)
    with pytest.raises(UserInputError, match="fashion_mnist"):
        PLANNER.run(parser.parse_args(["--dataset", "svhn", "--ipc", "1"]))


def test_registered():
    from benchmark.registries import COMMANDS, DECODERS, PARAMETERIZATIONS, STRATEGIES

    assert COMMANDS.get("plan speed") is PLANNER
    assert "speed" in DECODERS and "speed" in PARAMETERIZATIONS and "speed" in STRATEGIES
