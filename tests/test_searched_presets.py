"""The quick presets the fair search chose (docs/studies/fair-search.md) are the ones the trials in
studies/fair-search-data select by the study's rule, and only their cells changed."""

from pathlib import Path

import pytest
from script_modules import load_script

from benchmark.spec import parse_spec
from benchmark.strategy import resolve

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "studies" / "fair-search-data"


def test_pixel_tm_at_fashion_mnist_ipc_1_quick_runs_the_searched_syn_steps():
    config = resolve(parse_spec("tm"), "quick", "fashion_mnist", 1).config
    assert (config["syn_steps"], config["iterations"], config["lr_img"]) == (40, 150, 100.0)
    assert (config["lr_init"], config["max_start"], config["expert_epochs"]) == (0.01, 4, 2)


@pytest.mark.parametrize(("spec", "dataset", "ipc"), [("tm", "fashion_mnist", 10), ("tm", "cifar10", 1),
                                                     ("speed", "fashion_mnist", 1)])  # fmt: skip
def test_other_cells_and_speed_keep_their_syn_steps(spec, dataset, ipc):
    assert resolve(parse_spec(spec), "quick", dataset, ipc).config["syn_steps"] == 10


def test_the_preset_is_what_the_recorded_trials_select():
    search = load_script("studies/fair_search.py", "fair_search")
    chosen, status = search.selection(search.load_results(DATA), "tm")
    assert status == "final" and chosen["trial"] == "tm-08" and chosen["overrides"] == {"syn_steps": 40}
    from baselines.tm import SEARCHED_QUICK

    assert SEARCHED_QUICK[("fashion_mnist", 1)] == chosen["overrides"]
