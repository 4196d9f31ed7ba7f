"""SPEED's settings as published (docs/protocol.md §6, §12), checked against literal values written here.

The expected numbers are copied from docs/protocol.md, never read from the code's own tables: a resolved
config that drifts from the protocol fails here.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from test_datasets_formats import write_cifar10

from benchmark.data import DatasetOptions, load_dataset
from benchmark.engine import Engine
from benchmark.errors import UserInputError
from benchmark.options import RunOptions
from benchmark.profiles import load_profile
from benchmark.registries import SUITES
from benchmark.spec import parse_spec
from benchmark.strategy import resolve

# docs/protocol.md §6 rows: (K, k, D, R, H, patch, λ, batch_syn, syn_steps, max_start)
PAPER_ROWS = {
    ("cifar10", 1): (16, 48, 32, 1, 2, 4, 3e-6, 64, 60, 10),
    ("cifar10", 10): (64, 48, 96, 1, 3, 4, 3e-7, 128, 60, 20),
    ("cifar10", 50): (64, 48, 192, 3, 6, 4, 7e-8, 256, 60, 40),
    ("cifar100", 10): (64, 48, 192, 3, 6, 4, 7e-8, 256, 60, 40),
}
ROW_KEYS = ("tokens", "k", "dim", "depth", "heads", "patch", "lam", "batch_syn", "syn_steps", "max_start")


def config(spec: str, profile: str, dataset: str, ipc: int) -> dict:
    return resolve(parse_spec(spec), profile, dataset, ipc).config


def assert_published_student(cfg: dict) -> None:
    """§6/§12: EMA student momentum 0.9; α init 0.01, SGD lr 1e-5, momentum 0.95, clipped ≥ 0.001."""
    assert cfg["student_momentum"] == 0.9
    assert cfg["momentum_lr"] == 0.95
    assert cfg["lr_lr"] == 1e-5
    assert cfg["lr_init"] == 0.01
    assert cfg["min_lr"] == 0.001


@pytest.mark.parametrize("dataset,ipc", sorted(PAPER_ROWS))
def test_paper_speed_config_is_the_published_row(dataset, ipc):
    cfg = config("speed", "paper", dataset, ipc)
    assert tuple(cfg[key] for key in ROW_KEYS) == PAPER_ROWS[(dataset, ipc)]
    assert cfg["iterations"] == 20000 and cfg["expert_epochs"] == 2
    assert cfg["objective"] == "tm"
    assert_published_student(cfg)
    # SAET lr 10, SCM lr 100, FReeNet lr 0.01, SGD momentum 0.95; dense codes, top-k at export; noise init
    assert (cfg["optimizer"], cfg["lr_saet"], cfg["lr_scm"], cfg["lr_freenet"], cfg["momentum"]) == (
        "sgd", 10.0, 100.0, 0.01, 0.95,
    )  # fmt: skip
    assert (cfg["sparsify"], cfg["init"]) == ("export", "noise")


def test_quick_speed_config_has_the_published_student():
    cfg = config("speed", "quick", "fashion_mnist", 1)
    assert_published_student(cfg)


def test_alpha_momentum_is_each_methods_own():
    # MTT 0.5 with §4's table (IPC 1: lr_lr 1e-7, α init 0.01; IPC 10: 1e-5, 0.001), plain SGD student
    mtt1, mtt10 = config("tm", "paper", "cifar10", 1), config("tm", "paper", "cifar10", 10)
    assert (mtt1["momentum_lr"], mtt1["lr_lr"], mtt1["lr_init"], mtt1["student_momentum"]) == (
        0.5,
        1e-7,
        0.01,
        0,
    )
    assert (mtt10["momentum_lr"], mtt10["lr_lr"], mtt10["lr_init"]) == (0.5, 1e-5, 0.001)
    assert config("haba", "paper", "cifar10", 10)["momentum_lr"] == 0.9
    # SPEED with another objective has no student: nothing of TM's is in its config
    assert "student_momentum" not in config("speed:objective=dm", "quick", "fashion_mnist", 1)


# ---- MTT's published rows (docs/tm.md: the authors' run commands, sources per row) ---------------

# (syn_steps, expert_epochs, max_start, lr_img, lr_lr, α init, batch_syn, ZCA, network)
MTT_ROWS = {
    ("cifar10", 1): (50, 2, 2, 100.0, 1e-7, 0.01, 0, True, "ConvNet"),
    ("cifar10", 10): (30, 2, 20, 100.0, 1e-5, 0.001, 0, True, "ConvNet"),
    ("cifar10", 50): (30, 2, 40, 1000.0, 1e-5, 0.001, 0, False, "ConvNet"),
    ("cifar100", 1): (20, 3, 20, 1000.0, 1e-5, 0.01, 0, True, "ConvNet"),
    ("cifar100", 10): (20, 2, 20, 1000.0, 1e-5, 0.01, 0, False, "ConvNet"),
    ("cifar100", 50): (80, 2, 40, 1000.0, 1e-5, 0.01, 125, True, "ConvNet"),
    ("tinyimagenet", 1): (10, 2, 10, 10000.0, 1e-4, 0.01, 0, False, "ConvNetD4"),
    ("tinyimagenet", 10): (20, 2, 40, 10000.0, 1e-4, 0.01, 200, False, "ConvNetD4"),
    ("tinyimagenet", 50): (20, 2, 40, 10000.0, 1e-4, 0.01, 300, False, "ConvNetD4"),
}
MTT_KEYS = ("syn_steps", "expert_epochs", "max_start", "lr_img", "lr_lr", "lr_init", "batch_syn")
IMAGENET_SUBSETS = ("imagenette", "imagewoof", "imagefruit", "imagemeow", "imagesquawk", "imageyellow")


def whitened(dataset: str, ipc: int) -> bool:
    """Whether MTT's published recipe for this row keeps the paper profile's ZCA (CIFAR) or none."""
    from baselines.tm import TMStrategy

    recipe = TMStrategy.original_recipe({}, dataset, ipc)
    return recipe.get("preprocessing", load_profile("paper").preprocessing(dataset)) == "zca"


def assert_mtt_defaults(cfg: dict) -> None:
    """100 experts × 50 epochs, 5000 iterations, images and α with SGD momentum 0.5, plain student."""
    assert (cfg["num_experts"], cfg["expert_train_epochs"], cfg["iterations"]) == (100, 50, 5000)
    assert (cfg["momentum_img"], cfg["momentum_lr"], cfg["student_momentum"]) == (0.5, 0.5, 0)


@pytest.mark.parametrize("dataset,ipc", sorted(MTT_ROWS))
def test_paper_tm_config_is_the_published_row(dataset, ipc):
    cfg = config("tm", "paper", dataset, ipc)
    *row, zca, network = MTT_ROWS[(dataset, ipc)]
    assert tuple(cfg[key] for key in MTT_KEYS) == tuple(row)
    assert whitened(dataset, ipc) is zca
    assert cfg["network"] == network
    assert_mtt_defaults(cfg)


@pytest.mark.parametrize("dataset", IMAGENET_SUBSETS)
@pytest.mark.parametrize("ipc", [1, 10])
def test_paper_tm_config_of_the_imagenet_subsets(dataset, ipc):
    """What the published sources agree on (lr_img and lr_lr stay unset there: they disagree)."""
    cfg = config("tm", "paper", dataset, ipc)
    assert (cfg["syn_steps"], cfg["expert_epochs"], cfg["max_start"], cfg["lr_init"]) == (20, 2, 10, 0.01)
    assert cfg["network"] == "ConvNetD5" and not whitened(dataset, ipc)
    assert_mtt_defaults(cfg)


def test_paper_tm_without_a_published_row_keeps_the_defaults():
    cfg = config("tm", "paper", "cifar10", 20)
    assert (cfg["syn_steps"], cfg["expert_epochs"], cfg["max_start"], cfg["lr_img"]) == (20, 2, 20, 1000.0)
    assert config("tm", "paper", "fashion_mnist", 1)["network"] == "ConvNet"


@pytest.mark.parametrize("dataset,network", [
    ("cifar10", "ConvNet"), ("cifar100", "ConvNet"), ("fashion_mnist", "ConvNet"),
    ("tinyimagenet", "ConvNetD4"), ("imagenette", "ConvNetD5"), ("imageyellow", "ConvNetD5"),
])  # fmt: skip
def test_paper_depth_of_tm_and_speed_students(dataset, network):
    assert config("tm", "paper", dataset, 1)["network"] == network
    assert config("speed", "paper", dataset, 1)["network"] == network


def test_alpha_optimizer_uses_the_configured_momentum(digits, tmp_path):
    from baselines.tm import TrajectoryMatching
    from benchmark.strategy import FitContext

    cfg = {key: p.default for key, p in TrajectoryMatching.params.items()} | {
        "momentum_lr": 0.95, "expert_train_epochs": 50,
    }  # fmt: skip
    objective = TrajectoryMatching(digits, cfg, 0, FitContext(cache_root=tmp_path, show_progress=False))
    assert objective.optimizer_groups()[0]["momentum"] == 0.95


# ---- FReeNet: the §6 formula written out, eps 1e-6, published patch layout ---------------------


def explicit_freenet(net, saet: torch.Tensor, scm: torch.Tensor) -> torch.Tensor:
    """§6 in a few lines: x0 = 0; per block x = LN(x + W·concat_h(A_h E_h) + b), x = LN(x + MLP(x));
    then Linear(D → C·p²) per patch, the vector ordered (row in patch, column in patch, channel)."""

    def ln(x, norm):
        centred = x - x.mean(-1, keepdim=True)
        return centred / torch.sqrt(centred.pow(2).mean(-1, keepdim=True) + 1e-6) * norm.weight + norm.bias

    heads, dim = net.heads, net.dim
    width = dim // heads
    coded = torch.cat([scm[:, h] @ saet[:, h * width : (h + 1) * width] for h in range(heads)], dim=-1)
    x = torch.zeros_like(coded)
    for block in net.blocks:
        x = ln(x + coded @ block.proj.weight.T + block.proj.bias, block.norm1)
        hidden = F.gelu(x @ block.fc1.weight.T + block.fc1.bias)
        x = ln(x + hidden @ block.fc2.weight.T + block.fc2.bias, block.norm2)
    out = x @ net.head.weight.T + net.head.bias  # (n, J, L)
    channels, height, width_px = net.image_shape
    p, cols = net.patch, width_px // net.patch
    image = torch.zeros(len(scm), channels, height, width_px, dtype=out.dtype)
    for j in range(out.shape[1]):
        gi, gj = divmod(j, cols)
        for r in range(p):
            for c in range(p):
                for ch in range(channels):
                    image[:, ch, gi * p + r, gj * p + c] = out[:, j, (r * p + c) * channels + ch]
    return image


def test_freenet_forward_is_the_explicit_formula_with_eps_1e_6():
    from benchmark.seeding import seeded
    from speed.freenet import FReeNet

    net = seeded(0, lambda: FReeNet(4, 2, 2, 2, (3, 4, 6))).double()
    with torch.no_grad():  # LayerNorm affine parameters away from 1/0, so they are checked too
        for p in net.parameters():
            p.add_(0.1 * torch.randn_like(p))
    rng = torch.Generator().manual_seed(1)
    saet = torch.randn(5, 4, generator=rng, dtype=torch.float64)
    scm = 0.01 * torch.randn(3, 2, net.num_patches, 5, generator=rng, dtype=torch.float64)
    expected = explicit_freenet(net, saet, scm)
    torch.testing.assert_close(net(saet, scm), expected, rtol=1e-12, atol=1e-12)
    assert all(m.eps == 1e-6 for m in net.modules() if isinstance(m, torch.nn.LayerNorm))


def test_old_buffers_decode_as_they_were_made():
    """A manifest without ``layernorm_eps``/``patch_layout`` predates the published settings."""
    from speed.decoder import build_freenet
    from speed.freenet import FReeNet

    manifest = {"dim": 4, "heads": 2, "depth": 1, "patch": 2, "image_shape": [1, 4, 4]}
    weights = FReeNet(4, 2, 1, 2, (1, 4, 4)).state_dict()
    tensors = {"saet": torch.zeros(3, 4)} | {"freenet." + k: v for k, v in weights.items()}
    old = build_freenet(tensors, manifest)
    assert old.patch_layout == "channel_row_column" and old.blocks[0].norm1.eps == 1e-5
    new = build_freenet(tensors, manifest | {"layernorm_eps": 1e-6, "patch_layout": "row_column_channel"})
    assert new.patch_layout == "row_column_channel" and new.blocks[0].norm1.eps == 1e-6


# ---- the TM student with the EMA momentum, unrolled by hand -----------------------------------


@pytest.mark.parametrize("graph_steps", [1, 0])
def test_tm_student_with_momentum_is_the_unrolled_formula(digits, tmp_path, graph_steps):
    from test_tm import make
    from torch.func import functional_call

    objective, synthetic = make(
        digits, tmp_path, syn_steps=3, student_momentum=0.9, lr_init=0.05, graph_steps=graph_steps
    )
    size = sum(objective.sizes)
    rng = torch.Generator().manual_seed(5)
    theta0, target = 0.1 * torch.randn(size, generator=rng), 0.1 * torch.randn(size, generator=rng)
    objective.sample_endpoints = lambda generator: (theta0.clone(), target.clone())
    loss = objective.loss(synthetic, torch.Generator().manual_seed(0))
    loss.backward()

    images = synthetic.images.detach().clone().requires_grad_(True)
    labels = torch.as_tensor(synthetic.classes).repeat_interleave(synthetic.images_per_class)
    alpha = 0.05
    theta, m = theta0.clone().requires_grad_(True), torch.zeros(size)
    for _ in range(3):  # m ← 0.9·m + 0.1·g, θ ← θ − α·m
        out = functional_call(objective.net, objective.unflatten(theta), (images,))
        g = torch.autograd.grad(F.cross_entropy(out, labels), theta, create_graph=True)[0]
        m = 0.9 * m + 0.1 * g
        theta = theta - alpha * m
    expected = ((theta - target) ** 2).sum() / ((theta0 - target) ** 2).sum()
    expected.backward()
    assert float(loss.detach()) == pytest.approx(float(expected.detach()), rel=1e-5)
    torch.testing.assert_close(
        synthetic.images.grad, images.grad, rtol=1e-3, atol=1e-4 * images.grad.abs().max()
    )


# ---- preprocessing: ZCA in the paper profile ---------------------------------------------------


def test_paper_profile_whitens_cifar_for_every_strategy_but_not_in_continual():
    random = resolve(parse_spec("random"), "paper", "cifar10", 1)

    def preprocessing(profile: str, suite: str, dataset: str) -> str:
        instance = SUITES.get(suite)(RunOptions(profile=profile), load_profile(profile), None)
        return instance.preprocessing(dataset, random, 1)

    for suite in ("standard", "cross-arch", "corruption"):
        assert preprocessing("paper", suite, "cifar10") == "zca"
        assert preprocessing("paper", suite, "cifar100") == "zca"
        assert preprocessing("paper", suite, "tinyimagenet") == "meanstd"
        assert preprocessing("quick", suite, "cifar10") == "meanstd"
    assert preprocessing("paper", "continual", "cifar100") == "meanstd"  # decision 6
    assert load_profile("paper").preprocessing("cifar10") == "zca"  # `distill` outside a suite


def test_fashion_mnist_and_digits_loaders_honour_a_zca_request(tmp_path, digits):
    white = load_dataset("digits", DatasetOptions(preprocessing="zca", cache_dir=tmp_path))
    assert white.preprocessing == "zca" and white.whitening_key
    torch.testing.assert_close(white.to_pixels(white.train.images), digits.to_pixels(digits.train.images),
                               atol=1e-4, rtol=0)  # fmt: skip


@pytest.fixture
def zca_bench(tmp_path):
    write_cifar10(tmp_path / "data" / "cifar-10-batches-py", np.random.default_rng(4))
    options = RunOptions(
        profile="paper", output_dir=tmp_path / "out", data_root=tmp_path / "data", show_progress=False
    )
    profile = load_profile("paper")
    engine = Engine(options.engine, profile)
    return SUITES.get("standard")(options, profile, engine)


def test_paper_cifar10_buffers_are_made_on_zca_data_and_record_it(zca_bench):
    suite = zca_bench
    resolved = suite.engine.buffers.resolve("random", "cifar10", 1)
    assert suite.preprocessing("cifar10", resolved, 1) == "zca"
    data = suite.data("cifar10", resolved, 1)
    assert data.preprocessing == "zca"
    outcome = suite.engine.buffers.obtain(suite.engine.buffers.plan(data, resolved, 1, 0))
    manifest = outcome.buffer.manifest
    assert manifest["preprocessing"] == "zca" and manifest["whitening"] == data.whitening_key
    # a person sees the real pixels again (ZCA undone), one real training image per class
    pixels, labels = outcome.buffer.pixels(suite.engine.store.cache_root)
    raw = data.to_pixels(data.train.images)
    for image, label in zip(pixels, labels, strict=True):
        same_class = raw[data.train.labels == label]
        assert (same_class - image).abs().amax(dim=(1, 2, 3)).min() < 1e-3
    # evaluating it under mean/std preprocessing is refused in one line
    meanstd = suite.engine.buffers.data("cifar10", "meanstd")
    with pytest.raises(UserInputError, match="'zca' preprocessing") as error:
        outcome.buffer.check_data(meanstd)
    assert "\n" not in str(error.value)


def test_evaluate_command_refuses_another_preprocessing(zca_bench, capsys):
    from benchmark.cli import main

    engine = zca_bench.engine
    data = engine.buffers.data("cifar10", "zca")
    resolved = engine.buffers.resolve("random", "cifar10", 1)
    outcome = engine.buffers.obtain(engine.buffers.plan(data, resolved, 1, 0))
    path = engine.store.buffer_path("random", outcome.key)
    code = main(
        ["evaluate", str(path), "--preprocessing", "meanstd", "--data-root", str(engine.options.data_root),
         "--output-dir", str(engine.store.root), "--no-progress"]
    )  # fmt: skip
    err = capsys.readouterr().err.strip()
    assert code == 2 and err.count("\n") == 0 and "--preprocessing zca" in err


def test_original_recipes(zca_bench):
    suite = zca_bench
    resolve = suite.engine.buffers.resolve
    suite.options = suite.options.replace(eval_recipe="original")
    speed = resolve("speed", "cifar10", 10)
    recipe = suite.recipe("ConvNet", speed, "cifar10", 10)
    assert recipe.standardize and recipe.name == "original"
    assert suite.preprocessing("cifar10", speed, 10) == "zca"
    haba = resolve("haba", "cifar10", 10)
    assert suite.recipe("ConvNet", haba, "cifar10", 10).standardize
    tm50, tm10 = resolve("tm", "cifar10", 50), resolve("tm", "cifar10", 10)
    assert suite.preprocessing("cifar10", tm50, 50) == "meanstd"  # MTT's IPC 50: no ZCA
    assert suite.preprocessing("cifar10", tm10, 10) == "zca"
    assert not suite.recipe("ConvNet", tm10, "cifar10", 10).standardize
    dm = resolve("dm", "cifar10", 10)
    assert suite.preprocessing("cifar10", dm, 10) == "meanstd"
    suite.options = suite.options.replace(eval_recipe="suite")
    assert not suite.recipe("ConvNet", speed, "cifar10", 10).standardize
    assert suite.preprocessing("cifar10", dm, 10) == "zca"


def test_standardised_recipe_feeds_every_batch_standardised(digits, monkeypatch):
    import benchmark.training.evaluate as evaluate_module
    from benchmark.training.job import EvaluationJob, TrainingSet
    from benchmark.training.recipe import EvalRecipe

    seen = []

    class Recorder(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.linear = torch.nn.Linear(64, 10)

        def forward(self, x):
            seen.append((float(x.mean()), float(x.std()), x.shape[0]))
            return self.linear(x.flatten(1))

    monkeypatch.setattr(evaluate_module, "create_network", lambda *a, **k: Recorder())
    images, labels = digits.train.images[:40] * 3 + 1, digits.train.labels[:40]
    # no DSA: its draw comes after the standardisation (tests/test_original_recipe.py checks the order)
    recipe = EvalRecipe(epochs=2, batch_size=16, dsa=None, standardize=True)
    job = EvaluationJob("MLP", digits, TrainingSet(images, labels, lr=0.01), recipe, 0)
    evaluate_module.train_and_test(job)
    assert len(seen) == 2 * math.ceil(40 / 16) + 1  # training batches, then the test split
    for mean, std, _ in seen:
        assert mean == pytest.approx(0, abs=1e-5) and std == pytest.approx(1, abs=1e-5)
