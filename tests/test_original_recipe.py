"""``--eval-recipe original``: the published evaluation loop (epochs + 1 passes, the lr drop after
pass epochs // 2 + 1), per-batch standardisation before the DSA draw, and experts trained on
standardised batches for SPEED and HaBa on TM (docs/evaluation.md)."""

from __future__ import annotations

import math

import pytest
import torch

import baselines.experts as experts
import benchmark.training.evaluate as evaluate_module
from baselines.experts import ExpertRecipe, cache_content, expert_folder
from benchmark.errors import UserInputError
from benchmark.training.job import EvaluationJob, TrainingSet
from benchmark.training.recipe import EvalRecipe


class Recorder(torch.nn.Module):
    """A linear classifier that notes the mean, std and size of every batch it is fed."""

    def __init__(self, seen: list, features: int = 64):
        super().__init__()
        self.seen = seen
        self.linear = torch.nn.Linear(features, 10)

    def forward(self, x):
        self.seen.append((self.training, float(x.mean()), float(x.std()), x.shape[0]))
        return self.linear(x.flatten(1))


def recording_dsa(inputs: list):
    """A stand-in for DSA that notes its input's mean and std and shifts it (so its output is not
    standardised any more)."""

    class StubDSA:
        def __init__(self, strategy):
            pass

        def __call__(self, x, generator):
            inputs.append((float(x.mean()), float(x.std())))
            return x * 2 + 5

    return StubDSA


# ---- the recipe ----------------------------------------------------------------------------------
def test_published_schedule_passes_and_decay_point():
    assert EvalRecipe(epochs=1000).lr_schedule() == (1000, 500)
    assert EvalRecipe(epochs=1000, schedule="published").lr_schedule() == (1001, 502)
    assert EvalRecipe(epochs=300, schedule="published").lr_schedule() == (301, 152)
    with pytest.raises(UserInputError, match="schedule 'paper'"):
        EvalRecipe(schedule="paper")
    with pytest.raises(UserInputError, match="test_batch_size 0"):
        EvalRecipe(test_batch_size=0)


def test_default_description_is_unchanged_and_the_published_one_differs():
    assert EvalRecipe().describe() == {
        "epochs": 1000, "lr": 0.01, "batch_size": 256, "momentum": 0.9, "weight_decay": 0.0005,
        "dsa": "color_crop_cutout_flip_scale_rotate", "use_buffer_lr": True, "name": "dsa",
        "network_options": {}, "test_subset": 0, "standardize": False, "precision": "fp32",
    }  # fmt: skip
    published = EvalRecipe(schedule="published", test_batch_size=128).describe()
    assert published["schedule"] == "published" and published["test_batch_size"] == 128


# ---- the training loop ---------------------------------------------------------------------------
def optimizer_creations(monkeypatch, seen: list) -> list[tuple[int, float]]:
    """(training batches fed so far, lr) at each optimizer the loop creates."""
    made = []
    real = evaluate_module.make_optimizer

    def noting(net, lr, recipe):
        made.append((sum(1 for s in seen if s[0]), lr))
        return real(net, lr, recipe)

    monkeypatch.setattr(evaluate_module, "make_optimizer", noting)
    return made


@pytest.mark.parametrize(
    ("schedule", "epochs", "passes", "creations"),
    [
        ("default", 4, 4, [(0, 0.1), (2, 0.1 * 0.1)]),
        ("published", 4, 5, [(0, 0.1), (4, 0.1 * 0.1)]),  # drop after pass 4 // 2 + 1 = 3
        ("published", 10, 11, [(0, 0.1), (7, 0.1 * 0.1)]),  # drop after pass 6
        ("published", 1, 2, [(0, 0.1)]),  # the drop would follow the last pass
    ],
)
def test_training_passes_and_lr_drop(monkeypatch, schedule, epochs, passes, creations):
    seen: list = []
    made = optimizer_creations(monkeypatch, seen)
    images, labels = torch.randn(8, 1, 8, 8), torch.arange(8) % 10
    recipe = EvalRecipe(epochs=epochs, batch_size=256, dsa=None, schedule=schedule)
    evaluate_module.train_network(Recorder(seen), images, labels, 0.1, recipe, 0, show_progress=False)
    assert len(seen) == passes  # one batch per pass
    assert [(count, pytest.approx(lr)) for count, lr in made] == creations


def test_published_schedule_runs_end_to_end_and_keeps_the_default_untouched(digits, monkeypatch):
    seen: list = []
    monkeypatch.setattr(evaluate_module, "create_network", lambda *a, **k: Recorder(seen))
    images, labels = digits.train.images[:20], digits.train.labels[:20]
    for schedule, passes in (("default", 3), ("published", 4)):
        seen.clear()
        recipe = EvalRecipe(epochs=3, batch_size=256, dsa=None, schedule=schedule)
        evaluate_module.train_and_test(
            EvaluationJob("MLP", digits, TrainingSet(images, labels, 0.01), recipe, 0)
        )
        assert sum(1 for s in seen if s[0]) == passes


def test_standardisation_comes_before_the_dsa_draw_and_test_batches_are_standardised(digits, monkeypatch):
    seen: list = []
    dsa_inputs: list = []
    monkeypatch.setattr(evaluate_module, "create_network", lambda *a, **k: Recorder(seen))
    monkeypatch.setattr(evaluate_module, "DSA", recording_dsa(dsa_inputs))
    images, labels = digits.train.images[:40] * 3 + 1, digits.train.labels[:40]
    recipe = EvalRecipe(epochs=2, batch_size=16, dsa="auto", standardize=True, test_batch_size=100)
    job = EvaluationJob("MLP", digits, TrainingSet(images, labels, lr=0.01), recipe, 0)
    net, _ = evaluate_module.train_and_test(job)
    assert len(dsa_inputs) == 2 * math.ceil(40 / 16)
    for mean, std in dsa_inputs:  # DSA draws on standardised batches
        assert mean == pytest.approx(0, abs=1e-5) and std == pytest.approx(1, abs=1e-5)
    training = [s for s in seen if s[0]]
    assert all(mean == pytest.approx(5, abs=1e-4) for _, mean, _, _ in training)  # the stub's output
    testing = [s for s in seen if not s[0]]
    assert [size for *_, size in testing] == [
        min(100, len(digits.test) - start) for start in range(0, len(digits.test), 100)
    ]
    for _, mean, std, _ in testing:
        assert mean == pytest.approx(0, abs=1e-5) and std == pytest.approx(1, abs=1e-5)
    assert isinstance(net, evaluate_module.BatchStandardized)


def test_without_standardisation_dsa_sees_the_images_as_they_are(digits, monkeypatch):
    seen: list = []
    dsa_inputs: list = []
    monkeypatch.setattr(evaluate_module, "create_network", lambda *a, **k: Recorder(seen))
    monkeypatch.setattr(evaluate_module, "DSA", recording_dsa(dsa_inputs))
    images, labels = digits.train.images[:16] * 3 + 1, digits.train.labels[:16]
    job = EvaluationJob(
        "MLP", digits, TrainingSet(images, labels, 0.01), EvalRecipe(epochs=1, batch_size=16, dsa="auto"), 0
    )
    net, _ = evaluate_module.train_and_test(job)
    assert dsa_inputs == [pytest.approx((float(images.mean()), float(images.std())), abs=1e-5)]
    assert isinstance(net, Recorder)


# ---- experts -------------------------------------------------------------------------------------
EXPERTS = ExpertRecipe(width=4, epochs=1, subset=8, dsa="auto")


def test_expert_key_names_standardisation_only_when_on(digits, tmp_path):
    assert "standardize" not in cache_content(digits, EXPERTS, 0)  # earlier experts keep their key
    on = ExpertRecipe(width=4, epochs=1, subset=8, dsa="auto", standardize=True)
    assert cache_content(digits, on, 0)["standardize"] is True
    assert expert_folder(tmp_path, digits, on, 0) != expert_folder(tmp_path, digits, EXPERTS, 0)


@pytest.mark.parametrize("standardize", [False, True])
def test_expert_training_standardises_before_dsa_when_asked(digits, monkeypatch, standardize):
    dsa_inputs: list = []
    monkeypatch.setattr(experts, "DSA", recording_dsa(dsa_inputs))
    recipe = ExpertRecipe(width=4, epochs=1, subset=8, dsa="auto", standardize=standardize)
    trajectory, _ = experts.train_expert(digits, recipe, 0, 0)
    assert trajectory.shape[0] == 2 and len(dsa_inputs) == 1  # 80 images: one batch
    chosen = digits.train.images[experts.training_indices(digits, 8, 0)]
    expected = (0.0, 1.0) if standardize else (float(chosen.mean()), float(chosen.std()))
    assert dsa_inputs[0] == pytest.approx(expected, abs=1e-5)


# ---- the strategies' original recipes and the spec they distil with --------------------------------
@pytest.fixture
def smoke_suite(tmp_path):
    from benchmark.engine import Engine
    from benchmark.options import RunOptions
    from benchmark.profiles import load_profile
    from benchmark.registries import SUITES

    options = RunOptions(profile="smoke", output_dir=tmp_path, device="cpu", show_progress=False)
    profile = load_profile("smoke")
    return SUITES.get("standard")(options, profile, Engine(options.engine, profile))


def test_original_recipes_use_the_published_loop(smoke_suite):
    from benchmark.suites.base import Cell

    suite = smoke_suite
    suite.options = suite.options.replace(eval_recipe="original")
    for spec in ("speed", "haba"):
        recipe = suite.recipe("ConvNet", suite.resolve(Cell("digits", spec, 10, 0)), "digits", 10)
        assert (recipe.name, recipe.schedule, recipe.standardize, recipe.test_batch_size, recipe.epochs) == (
            "original",
            "published",
            True,
            128,
            1000,
        )
    for spec, epochs in (("dc", 300), ("dsa", 1000), ("dm", 1000), ("tm", 1000)):
        recipe = suite.recipe("ConvNet", suite.resolve(Cell("digits", spec, 10, 0)), "digits", 10)
        assert (recipe.name, recipe.schedule, recipe.standardize, recipe.epochs) == (
            "original",
            "published",
            False,
            epochs,
        )
    suite.options = suite.options.replace(eval_recipe="suite")
    recipe = suite.recipe("ConvNet", suite.resolve(Cell("digits", "speed", 10, 0)), "digits", 10)
    assert (recipe.schedule, recipe.standardize, recipe.test_batch_size) == ("default", False, 1000)


def test_original_recipe_distils_speed_and_haba_on_standardised_experts(smoke_suite):
    from benchmark.suites.base import Cell

    suite = smoke_suite

    def expert_standardize(spec: str) -> bool | None:
        return suite.resolve(Cell("digits", spec, 10, 0)).config.get("expert_standardize")

    assert (expert_standardize("speed"), expert_standardize("haba"), expert_standardize("tm")) == (
        False,
        False,
        False,
    )
    suite.options = suite.options.replace(eval_recipe="original")
    assert (expert_standardize("speed"), expert_standardize("haba"), expert_standardize("tm")) == (
        True,
        True,
        False,
    )
    assert expert_standardize("speed:expert_standardize=false") is False  # the spec's own value wins
    assert expert_standardize("speed:objective=dm") is None  # no experts, nothing to set
    resolved = suite.resolve(Cell("digits", "speed", 10, 0))
    assert "expert_standardize=true" in resolved.canonical  # so the buffer key differs (decision 8)


def test_tm_objective_trains_its_experts_as_the_spec_says(digits, tmp_path):
    from baselines.tm import TrajectoryMatching
    from benchmark.spec import parse_spec
    from benchmark.strategy import FitContext, resolve

    context = FitContext(cache_root=tmp_path, show_progress=False)
    for text, standardize in (("tm", False), ("tm:expert_standardize=true", True)):
        config = resolve(parse_spec(text), "smoke", "digits", 1).config
        assert TrajectoryMatching(digits, config, 0, context).recipe.standardize is standardize
