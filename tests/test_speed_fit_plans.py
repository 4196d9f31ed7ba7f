"""SPEED is planned for the fit it makes: the classes and budget of the buffer being fitted (a
continual step's), not the dataset's; and the presets contract that carries those classes.

Every expected number is written out here, never read from the planner's tables.
"""

from __future__ import annotations

import argparse
import json
from typing import ClassVar

import pytest
import torch

from baselines.pixels import real_images_per_class
from benchmark.budget import Budget
from benchmark.buffer import Buffer
from benchmark.continual.stream import Step, class_order
from benchmark.errors import DoesNotFitError
from benchmark.options import RunOptions
from benchmark.pixels import pixel_buffer
from benchmark.registries import STRATEGIES, SUITES
from benchmark.results.store import ResultStore
from benchmark.runner import run
from benchmark.seeding import generator
from benchmark.spec import Param, parse_spec
from benchmark.strategy import FitContext, Strategy, resolve
from benchmark.suites.continual import ContinualSuite
from speed.planner import PLANNER, choose_architecture, plan_for_fit
from speed.strategy import SpeedStrategy

ARCH = ("dim", "tokens", "heads", "k", "depth", "patch")
SPECS = {"tm": "speed", "dm": "speed:objective=dm"}

# (dataset, ipc, classes of the fit) → (D, K, H, k, R, patch), N/c, SAETs, codes, FReeNet, budget,
# the class's training images, λ ≈ 0.064 / (N·H·J)
STEPS = {
    # a Fashion-MNIST continual step (the quick continual suite): 2 classes at IPC 3
    ("fashion_mnist", 3, 2): ((12, 12, 2, 37, 1, 4), 17, 144, 3774, 724, 4704, 6000, 2e-5),
    # a CIFAR100 continual step (the paper's continual setting): 20 classes at IPC 20
    ("cifar100", 20, 20): ((96, 64, 3, 48, 2, 4), 268, 6144, 1157760, 61296, 1228800, 500, 6e-8),
}


@pytest.mark.parametrize("objective", ["tm", "dm"])
@pytest.mark.parametrize("fit", sorted(STEPS))
def test_a_continual_step_is_planned_for_its_classes(fit, objective):
    dataset, ipc, classes = fit
    arch, per_class, saet, codes, freenet, budget, train_images, lam = STEPS[fit]
    p = plan_for_fit(dataset, ipc, classes, objective)
    assert tuple(getattr(p, key) for key in ARCH) == arch
    assert p.images_per_class == per_class == p.fits_per_class and p.images == per_class * classes
    assert (p.saet, p.codes, p.freenet, p.budget) == (saet, codes, freenet, budget)
    assert p.total == saet + codes + freenet <= budget
    assert p.heads * p.k / p.patches == p.codes_per_patch >= 1.5  # the published regime
    assert p.images_per_class <= train_images
    for profile in ("quick", "paper", "smoke"):
        config = resolve(parse_spec(SPECS[objective]), profile, dataset, ipc, classes).config
        assert tuple(config[key] for key in ARCH) == arch
        assert config["images_per_class"] == 0 and config["lam"] == lam  # 0: the largest that fits


def test_plan_command_prints_the_plan_of_the_fit(capsys):
    parser = argparse.ArgumentParser()
    PLANNER.add_arguments(parser)
    PLANNER.run(parser.parse_args(["--dataset", "fashion_mnist", "--ipc", "3", "--classes", "2"]))
    text = capsys.readouterr().out
    assert "D=12 K=12 H=2 k=37 R=1 patch=4" in text and "N = 34 (17 per class)" in text
    assert "codes per patch H·k/J = 1.51" in text and "the rule" in text
    PLANNER.run(parser.parse_args(["--dataset", "cifar100", "--ipc", "20", "--classes", "20", "--json"]))
    out = json.loads(capsys.readouterr().out)
    assert (out["dim"], out["depth"], out["images_per_class"], out["codes_per_patch"]) == (96, 2, 268, 2.25)


# The project's quick rows, for the fits of the whole dataset they were chosen for
QUICK_ROWS = {
    ("fashion_mnist", 1, "tm"): (12, 12, 2, 36, 1, 4),
    ("fashion_mnist", 1, "dm"): (24, 16, 2, 12, 1, 4),
    ("fashion_mnist", 10, "tm"): (64, 32, 2, 24, 1, 4),
    ("fashion_mnist", 50, "dm"): (96, 64, 3, 32, 2, 4),
    ("mnist", 1, "dm"): (24, 16, 2, 12, 1, 4),
    ("digits", 1, "tm"): (8, 8, 1, 4, 1, 2),
    ("digits", 10, "dm"): (16, 16, 2, 8, 1, 2),
    ("digits", 50, "tm"): (32, 16, 2, 12, 1, 2),
}


@pytest.mark.parametrize("dataset,ipc,objective", sorted(QUICK_ROWS))
def test_whole_dataset_fits_keep_their_quick_rows(dataset, ipc, objective):
    for classes in (None, 10):  # the default is every class the dataset registered
        config = resolve(parse_spec(SPECS[objective]), "quick", dataset, ipc, classes).config
        assert tuple(config[key] for key in ARCH) == QUICK_ROWS[(dataset, ipc, objective)]


@pytest.mark.parametrize(
    "dataset,ipc,classes,arch",
    [
        # TM's quick row is for 10 classes at IPC 1 (7,840 floats); 2 classes get 1,568
        ("fashion_mnist", 1, 2, (4, 4, 1, 74, 1, 4)),
        ("cifar10", 1, 2, (12, 12, 2, 48, 1, 4)),  # not the CIFAR10 IPC 1 row (D 32, K 16)
        ("cifar100", 10, 20, (96, 64, 3, 48, 2, 4)),  # not the CIFAR100 IPC 10 row (D 192, R 3)
        ("fashion_mnist", 3, 10, (32, 16, 2, 37, 1, 4)),  # no row at IPC 3: the rule, no fallback row
    ],
)
def test_rows_apply_only_to_the_fit_they_were_made_for(dataset, ipc, classes, arch):
    config = resolve(parse_spec("speed"), "paper", dataset, ipc, classes).config
    assert tuple(config[key] for key in ARCH) == arch
    assert config["iterations"] == 20000  # the paper profile keeps the published schedule for any fit
    p = plan_for_fit(dataset, ipc, classes)
    assert p.codes_per_patch >= 1.5 and p.shared_share <= 0.25


def test_the_rule_takes_the_leanest_architecture_where_none_is_within_a_quarter():
    # digits, 2 classes at IPC 2: 256 floats; the smallest candidate's shared parts take 112 (44 %)
    assert choose_architecture((1, 8, 8), 2, 2, 139) == dict(dim=4, tokens=4, heads=1, k=24, depth=1, patch=2)
    p = plan_for_fit("digits", 2, 2)
    assert (p.images_per_class, p.total, p.codes_per_patch) == (2, 112 + 1.5 * 24 * 4, 1.5)


def test_images_per_class_never_exceed_the_class_training_images():
    # Fashion-MNIST, 2 classes at IPC 5000: k grows from 37 to 70 so that N/c stays ≤ 6,000
    p = plan_for_fit("fashion_mnist", 5000, 2)
    assert (p.dim, p.depth, p.k, p.images_per_class, p.fits_per_class) == (192, 3, 70, 5943, 5943)
    # digits, 2 classes at IPC 4000: k stops at 16 codes per patch (85 = ⌊16·16/3⌋); the rest unused
    p = plan_for_fit("digits", 4000, 2)
    assert (p.dim, p.depth, p.k, p.images_per_class, p.fits_per_class) == (96, 2, 85, 139, 586)
    assert p.total < p.budget
    for objective in SPECS.values():
        config = resolve(parse_spec(objective), "quick", "digits", 4000, 2).config
        assert (config["k"], config["images_per_class"]) == (85, 139)
    given = resolve(parse_spec("speed:images_per_class=5"), "quick", "digits", 4000, 2).config
    assert given["images_per_class"] == 5  # a spec value still wins


def test_no_admissible_architecture_is_refused_in_one_line(digits):
    # digits, 2 classes at IPC 1: 128 floats; the smallest candidate needs 184 for one image per class
    with pytest.raises(DoesNotFitError) as info:
        choose_architecture((1, 8, 8), 2, 1, 139)
    assert "\n" not in str(info.value) and "needs 184" in str(info.value) and "budget 128" in str(info.value)
    assert info.value.numbers == {"budget": 128.0, "classes": 2, "smallest_needs": 184.0}
    parser = argparse.ArgumentParser()
    PLANNER.add_arguments(parser)
    with pytest.raises(DoesNotFitError, match="no architecture fits budget 128"):
        PLANNER.run(parser.parse_args(["--dataset", "digits", "--ipc", "1", "--classes", "2"]))
    # resolving does not fail the run: the fit reports DoesNotFitError, which the suite records
    config = resolve(parse_spec("speed:objective=dm"), "quick", "digits", 1, 2).config
    assert tuple(config[key] for key in ARCH) == (4, 4, 1, 24, 1, 2)
    with pytest.raises(DoesNotFitError, match="no image per class within budget 128"):
        SpeedStrategy(config).fit(
            digits.restricted_to([0, 1]), Budget(1, 2, (1, 8, 8)), 0, FitContext(show_progress=False)
        )


# ---- the presets contract ---------------------------------------------------------------------------


class OldSignature(Strategy):
    """An outside plugin written before presets took the classes of the fit."""

    name = "old_signature"
    params: ClassVar = {"group": Param(1, "a number", minimum=1)}

    @classmethod
    def presets(cls, profile, dataset, ipc, given):
        return {"group": 7}


class NewSignature(Strategy):
    name = "new_signature"
    params: ClassVar = {"group": Param(1, "the classes of the fit", minimum=1)}

    @classmethod
    def presets(cls, profile, dataset, ipc, given, classes=None):
        return {} if classes is None else {"group": classes}


class KeywordSignature(NewSignature):
    name = "keyword_signature"

    @classmethod
    def presets(cls, profile, dataset, ipc, given, **fit):
        return {"group": fit["classes"]}


@pytest.fixture
def plugins():
    for plugin in (OldSignature, NewSignature, KeywordSignature):
        STRATEGIES.register(plugin.name, plugin)
    yield
    for plugin in (OldSignature, NewSignature, KeywordSignature):
        STRATEGIES.unregister(plugin.name)


def test_an_old_signature_plugin_keeps_resolving(plugins):
    assert resolve(parse_spec("old_signature"), "quick", "digits", 2, classes=2).config == {"group": 7}
    assert resolve(parse_spec("old_signature"), "quick", "digits", 2).config == {"group": 7}


def test_presets_get_the_classes_of_the_fit(plugins):
    new = lambda *args, **kw: resolve(parse_spec("new_signature"), "quick", *args, **kw).config["group"]  # noqa: E731
    assert new("digits", 2, classes=4) == 4
    assert new("digits", 2) == 10  # default: every class the dataset registered
    assert new("no_such_dataset", 2) == 1  # unknown: None, the plain default
    assert resolve(parse_spec("keyword_signature"), "quick", "digits", 2, 3).config == {"group": 3}


# ---- callers pass the classes of the fit ------------------------------------------------------------

FITS: list[dict] = []


class ClassesSpy(Strategy):
    """Pixels, with the classes its presets were given in the config, beside the classes it fits."""

    name = "classes_spy"
    params: ClassVar = {"fit_classes": Param(0, "the classes the presets saw", minimum=0)}

    @classmethod
    def presets(cls, profile, dataset, ipc, given, classes=None):
        return {} if classes is None else {"fit_classes": classes}

    def fit(self, data, budget, seed, context):
        FITS.append({"presets": self.config["fit_classes"], "data": len(data.classes)})
        return pixel_buffer(real_images_per_class(data, budget.ipc, generator(seed)), data.classes)


class UnevenContinual(ContinualSuite):
    """Two steps of 4 and 6 classes: steps whose fits differ in size."""

    name = "uneven_continual"

    def steps(self, data, order_seed):
        order = class_order(order_seed, data.num_classes)
        steps = []
        for index, classes in enumerate((order[:4], order[4:])):
            chosen = torch.tensor(classes)
            train = torch.isin(data.train.labels, chosen).nonzero().flatten()
            test = torch.isin(data.test.labels, chosen).nonzero().flatten()
            steps.append(Step(index, tuple(classes), train, test))
        return steps


@pytest.fixture
def spy():
    STRATEGIES.register("classes_spy", ClassesSpy)
    SUITES.register("uneven_continual", UnevenContinual)
    FITS.clear()
    yield
    STRATEGIES.unregister("classes_spy")
    SUITES.unregister("uneven_continual")


def test_each_continual_step_is_resolved_for_its_own_classes(spy, tmp_path):
    options = RunOptions(suite="uneven_continual", profile="smoke", strategies=["classes_spy"],
                         output_dir=tmp_path, show_progress=False)  # fmt: skip
    run(options)
    assert FITS == [{"presets": 4, "data": 4}, {"presets": 6, "data": 6}]
    records = sorted(ResultStore(tmp_path).records("uneven_continual"), key=lambda r: r.config["step"])
    assert [r.config["spec"] for r in records] == ["classes_spy:fit_classes=4", "classes_spy:fit_classes=6"]


def test_the_continual_smoke_run_plans_speed_for_each_step(tmp_path):
    spec = "speed:objective=dm"
    options = RunOptions(suite="continual", profile="smoke", strategies=[spec], output_dir=tmp_path,
                         show_progress=False)  # fmt: skip
    run(options)
    step = resolve(parse_spec(spec), "smoke", "digits", 2, classes=2)
    whole = resolve(parse_spec(spec), "smoke", "digits", 2)
    # 2 classes at IPC 2: 256 floats, D 4, K 4, H 1, k 24, R 1, patch 2, 2 images a class, λ 0.064/(4·16);
    # the whole dataset's 1,280 floats: the same architecture, 3 images a class, λ 0.064/(30·16)
    assert tuple(step.config[key] for key in ARCH) == (4, 4, 1, 24, 1, 2)
    assert (step.config["lam"], whole.config["lam"]) == (1e-3, 1e-4)
    store = ResultStore(tmp_path)
    records = store.records("continual")
    assert len(records) == 5 and all(r.status == "ok" for r in records)
    assert {r.config["spec"] for r in records} == {step.canonical}
    for record in records:
        buffer = Buffer.load(store.buffer_path("speed", record.buffer))
        assert buffer.manifest["spec"] == step.canonical and len(buffer.manifest["classes"]) == 2
        assert tuple(buffer.tensors["saet"].shape) == (4, 4)  # K × D
        _, labels, _ = buffer.materialize("cpu")
        assert len(labels) == 4 and buffer.storage == 256  # 112 shared + 1.5 · 24 · 4 codes


def test_the_avalanche_memory_resolves_each_experience_for_its_classes(spy, digits, tmp_path):
    from benchmark.integrations.avalanche import DistilledMemory

    memory = DistilledMemory("classes_spy", ipc=2, dataset="digits", cache_root=tmp_path)
    for classes in ([0, 1, 2], [3, 4]):
        keep = torch.isin(digits.train.labels, torch.tensor(classes))
        experience = torch.utils.data.TensorDataset(digits.train.images[keep], digits.train.labels[keep])
        memory.add_experience(experience, torch.device("cpu"))
    assert FITS == [{"presets": 3, "data": 3}, {"presets": 2, "data": 2}]
    specs = [buffer.manifest["spec"] for buffer in memory.buffers]
    assert specs == ["classes_spy:fit_classes=3", "classes_spy:fit_classes=2"]


def test_the_rule_on_the_published_budgets_picks_six_of_the_ten_published_architectures():
    published = {
        ("cifar10", 1): (32, 16, 2, 48, 1, 4), ("cifar10", 10): (96, 64, 3, 48, 1, 4),
        ("cifar10", 50): (192, 64, 6, 48, 3, 4), ("cifar100", 1): (96, 64, 3, 48, 2, 4),
        ("cifar100", 10): (192, 64, 6, 48, 3, 4), ("cifar100", 50): (192, 64, 6, 166, 3, 4),
        ("tinyimagenet", 1): (256, 128, 8, 48, 2, 8), ("tinyimagenet", 10): (256, 128, 8, 128, 2, 8),
        ("imagenette", 1): (192, 256, 4, 192, 2, 8), ("imagenette", 10): (384, 256, 6, 384, 2, 8),
    }  # fmt: skip
    shapes = {"cifar10": ((3, 32, 32), 10), "cifar100": ((3, 32, 32), 100),
              "tinyimagenet": ((3, 64, 64), 200), "imagenette": ((3, 128, 128), 10)}  # fmt: skip
    same = [
        (dataset, ipc)
        for (dataset, ipc), arch in published.items()
        if tuple(choose_architecture(*shapes[dataset], ipc).values()) == arch
    ]
    assert same == [("cifar10", 1), ("cifar10", 50), ("cifar100", 1), ("cifar100", 10),
                    ("tinyimagenet", 1), ("imagenette", 10)]  # fmt: skip
