"""The quick presets the fair search chose (docs/studies/fair-search.md) are the ones the trials in
studies/fair-search-data select by the study's rule, and only their cells changed."""

from pathlib import Path

import pytest
from script_modules import load_script

from baselines.searched import SEARCHED_QUICK
from benchmark.spec import parse_spec
from benchmark.strategy import resolve

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "studies" / "fair-search-data"


def quick(spec: str, dataset: str = "fashion_mnist", ipc: int = 1) -> dict:
    return resolve(parse_spec(spec), "quick", dataset, ipc).config


def test_pixel_tm_at_fashion_mnist_ipc_1_quick_runs_the_searched_syn_steps():
    config = quick("tm")
    assert (config["syn_steps"], config["iterations"], config["lr_img"]) == (40, 150, 100.0)
    assert (config["lr_init"], config["max_start"], config["expert_epochs"]) == (0.01, 4, 2)


def test_pixel_dm_at_fashion_mnist_ipc_1_quick_runs_the_searched_iterations():
    config = quick("dm")
    assert (config["iterations"], config["lr_img"], config["batch_real"]) == (2000, 1.0, 64)


@pytest.mark.parametrize(("spec", "dataset", "ipc"), [("tm", "fashion_mnist", 10), ("tm", "cifar10", 1),
                                                     ("speed", "fashion_mnist", 1)])  # fmt: skip
def test_other_cells_and_speed_keep_their_syn_steps(spec, dataset, ipc):
    assert quick(spec, dataset, ipc)["syn_steps"] == 10


def test_pixel_dsa_at_fashion_mnist_ipc_1_quick_runs_the_searched_iterations():
    config = quick("dsa")
    assert (config["iterations"], config["lr_img"]) == (1000, 0.1)
    assert (config["outer_loop"], config["inner_loop"]) == (1, 1)


@pytest.mark.parametrize("method", ["dm", "dsa", "dc"])
@pytest.mark.parametrize(("dataset", "ipc"), [("fashion_mnist", 10), ("fashion_mnist", 3), ("cifar10", 1)])
def test_other_cells_keep_their_iterations(method, dataset, ipc):
    assert quick(method, dataset, ipc)["iterations"] == 200


def test_dc_was_not_searched_and_keeps_its_preset():
    assert quick("dc")["iterations"] == 200


def test_speed_with_the_dm_objective_keeps_its_own_iterations():
    assert quick("speed:objective=dm")["iterations"] == 1000


def test_an_explicit_knob_still_wins_over_the_searched_one():
    assert quick("dm:iterations=200")["iterations"] == 200
    assert quick("tm:syn_steps=10")["syn_steps"] == 10
    assert quick("dsa:iterations=200")["iterations"] == 200


@pytest.mark.parametrize("method", sorted(SEARCHED_QUICK))
def test_each_preset_is_what_the_recorded_trials_select(method):
    search = load_script("studies/fair_search.py", "fair_search")
    chosen, status = search.selection(search.load_results(DATA), method)
    assert status == "final"
    assert SEARCHED_QUICK[method] == {("fashion_mnist", 1): chosen["overrides"]}
