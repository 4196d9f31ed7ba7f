import math

import pytest
import torch

from baselines.dm import DistributionMatching, mean_embedding_distance
from baselines.pixels import PixelParameterization
from benchmark.budget import Budget
from benchmark.distill.loop import distill
from benchmark.distill.objective import Objective
from benchmark.distill.strategy import DistillationStrategy
from benchmark.errors import DistillationDivergedError
from benchmark.options import RunOptions
from benchmark.registries import OBJECTIVES, STRATEGIES
from benchmark.runner import run
from benchmark.strategy import FitContext

DM_CONFIG = {"batch_real": 10_000, "dsa": "none", "network": "ConvNet", "net_width": 16, "normalize": False}


class WholeClassParameterization(PixelParameterization):
    """Every real training image of each class: its mean embedding is the real one."""

    def __init__(self, data, budget, config, seed, context):
        super().__init__(data, budget, config, seed, context)
        self.per_class = {c: data.train.of_class(c).clone().requires_grad_(True) for c in self.classes}

    def images_of_class(self, c):
        return self.per_class[c]


def small(digits):
    return digits.restricted_to([0, 1])


def test_dm_loss_is_zero_when_embeddings_coincide(digits):
    data = small(digits)
    config = {"init": "real", "lr_img": 1.0, "momentum_img": 0.5}
    synthetic = WholeClassParameterization(data, Budget(1, 2, data.image_shape), config, 0, FitContext())
    objective = DistributionMatching(data, DM_CONFIG, 0, FitContext())
    loss = objective.loss(synthetic, torch.Generator().manual_seed(0))
    assert float(loss.detach()) == pytest.approx(0.0, abs=1e-8)
    x = torch.randn(5, 7)
    assert float(mean_embedding_distance(x, x[torch.randperm(5)])) == pytest.approx(0.0, abs=1e-10)
    assert float(mean_embedding_distance(x, x + 1)) == pytest.approx(7.0)


def test_dm_gradient_reaches_every_speed_parameter(digits):
    from speed.parameterization import SpeedParameterization

    data = small(digits)
    budget = Budget(10, 2, data.image_shape)
    config = dict(
        dim=8, tokens=8, heads=1, k=4, depth=1, patch=2, lam=0.0, init="noise", sparsify="forward",
        scope="global", init_steps=0, init_fit_lr=1e-3, lr_saet=1e-3, lr_scm=1e-3, lr_freenet=1e-3,
        momentum=0.0, optimizer="adam", images_per_class=0,
    )  # fmt: skip
    synthetic = SpeedParameterization(data, budget, config, 0, FitContext())
    objective = DistributionMatching(data, DM_CONFIG | {"batch_real": 32}, 0, FitContext())
    objective.loss(synthetic, torch.Generator().manual_seed(0)).backward()
    for name, parameter in synthetic.named_parameters():
        assert parameter.grad is not None and parameter.grad.abs().sum() > 0, name


def test_dm_loss_of_several_classes_at_once_equals_class_by_class(digits, monkeypatch):
    """DM embeds a chunk of classes in one forward (per-sample norms): the same loss and gradient as
    one class per forward."""
    data = digits.restricted_to([0, 1, 2, 3])
    config = {"init": "real", "lr_img": 1.0, "momentum_img": 0.5}

    def loss_and_grad():
        synthetic = PixelParameterization(data, Budget(2, 4, data.image_shape), config, 0, FitContext())
        objective = DistributionMatching(data, DM_CONFIG | {"batch_real": 16}, 0, FitContext())
        loss = objective.loss(synthetic, torch.Generator().manual_seed(0))
        loss.backward()
        return loss.detach(), torch.cat([p.grad.flatten() for p in synthetic.parameters()])

    joint_loss, joint_grad = loss_and_grad()
    chunks = DistributionMatching._chunks
    monkeypatch.setattr(DistributionMatching, "_chunks", staticmethod(lambda batches: chunks(batches, 1)))
    alone_loss, alone_grad = loss_and_grad()
    assert torch.allclose(joint_loss, alone_loss, rtol=1e-5)
    assert torch.allclose(joint_grad, alone_grad, rtol=1e-4, atol=1e-7)


class Poisoned(Objective):
    """A loss that becomes NaN at iteration 2."""

    def __init__(self, data, config, seed, context):
        super().__init__(data, config, seed, context)
        self.calls = 0

    def loss(self, synthetic, generator):
        self.calls += 1
        images, _ = synthetic.synthesize()
        value = images.square().mean()
        return value * math.nan if self.calls == 3 else value


class Interrupting(Objective):
    """A real gradient with randomness; raises at a chosen iteration to simulate a crash."""

    stop_at = None

    def __init__(self, data, config, seed, context):
        super().__init__(data, config, seed, context)
        self.calls = 0

    def loss(self, synthetic, generator):
        self.calls += 1
        if self.calls == self.stop_at:
            raise KeyboardInterrupt
        images, _ = synthetic.synthesize()
        target = torch.randn(images.shape, generator=generator)
        return (images - target).square().mean()


def test_loop_stops_on_a_poisoned_loss_naming_the_iteration(digits):
    data = small(digits)
    config = {"init": "real", "lr_img": 0.1, "momentum_img": 0.5}
    synthetic = PixelParameterization(data, Budget(1, 2, data.image_shape), config, 0, FitContext())
    with pytest.raises(DistillationDivergedError, match="at iteration 2"):
        distill(synthetic, Poisoned(data, {}, 0, FitContext()), 10, 0, FitContext(show_progress=False))


def test_resumed_distillation_equals_an_uninterrupted_one(digits, tmp_path):
    data = small(digits)
    config = {"init": "real", "lr_img": 0.1, "momentum_img": 0.5}
    budget = Budget(2, 2, data.image_shape)

    def fresh():
        return PixelParameterization(data, budget, config, 0, FitContext())

    plain = fresh()
    distill(plain, Interrupting(data, {}, 0, FitContext()), 8, 0, FitContext(show_progress=False))
    context = FitContext(show_progress=False, checkpoint_path=tmp_path / "ck.pt", checkpoint_every_s=0.0)
    Interrupting.stop_at = 6
    interrupted = fresh()
    with pytest.raises(KeyboardInterrupt):
        distill(interrupted, Interrupting(data, {}, 0, context), 8, 0, context)
    Interrupting.stop_at = None
    resumed = fresh()
    losses = distill(resumed, Interrupting(data, {}, 0, context), 8, 0, context)
    assert len(losses) == 8
    assert torch.equal(resumed.images, plain.images)


class PoisonedPixels(DistillationStrategy):
    name = "poisoned"
    parameterization = "pixels"
    objective = "poisoned_objective"


def test_a_diverging_cell_is_recorded_as_failed_and_the_run_goes_on(tmp_path):
    OBJECTIVES.register("poisoned_objective", Poisoned)
    STRATEGIES.register("poisoned", PoisonedPixels)
    try:
        options = RunOptions(profile="smoke", strategies=["poisoned:iterations=5", "random"], ipcs=[1],
                             repeats=1, output_dir=tmp_path, show_progress=False)  # fmt: skip
        (table,) = run(options)
    finally:
        OBJECTIVES.unregister("poisoned_objective")
        STRATEGIES.unregister("poisoned")
    cells = table.frame().iloc[:, 0].to_dict()
    assert cells["poisoned"] == "failed"
    assert float(cells["random"]) > 0  # one network: the accuracy itself
    import json

    failed = [json.loads(p.read_text()) for p in (tmp_path / "records" / "standard").glob("*.json")]
    failed = [r for r in failed if r["status"] == "failed"]
    assert len(failed) == 1 and "iteration 2" in failed[0]["error"]


def test_snapshots_equal_the_buffers_of_shorter_runs(digits, tmp_path):
    from benchmark.spec import parse_spec
    from benchmark.strategy import resolve, strategy_class

    data = small(digits)
    budget = Budget(1, 2, data.image_shape)

    def fit(iterations, **context):
        spec = parse_spec(f"dm:iterations={iterations}:batch_real=16:net_width=8")
        config = resolve(spec, "quick", "digits", 1).config
        ctx = FitContext(cache_root=tmp_path, show_progress=False, **context)
        return strategy_class("dm")(config).fit(data, budget, 0, ctx)

    snapshots = {}
    final = fit(5, snapshot_at=(2, 5), on_snapshot=lambda n, buffer: snapshots.setdefault(n, buffer))
    assert sorted(snapshots) == [2, 5]
    assert torch.equal(snapshots[5].tensors["images"], final.tensors["images"])
    assert torch.equal(snapshots[2].tensors["images"], fit(2).tensors["images"])
    assert not torch.equal(snapshots[2].tensors["images"], final.tensors["images"])


def test_normalised_dm_loss_divides_by_the_real_mean_embedding(digits):
    data = digits.restricted_to([3])  # one class, every real image of it in the batch
    config = {"init": "noise", "lr_img": 1.0, "momentum_img": 0.5}
    synthetic = PixelParameterization(data, Budget(2, 1, data.image_shape), config, 0, FitContext())
    raw = DistributionMatching(data, DM_CONFIG, 0, FitContext())
    scaled = DistributionMatching(data, DM_CONFIG | {"normalize": True}, 0, FitContext())
    loss_raw = float(raw.loss(synthetic, torch.Generator().manual_seed(7)).detach())
    loss_scaled = float(scaled.loss(synthetic, torch.Generator().manual_seed(7)).detach())
    net = raw.random_network(torch.Generator().manual_seed(7))  # the loss's own first draw
    with torch.no_grad():
        norm = float((net.embed(data.train.of_class(3)).mean(0) ** 2).sum())
    assert loss_raw > 0 and loss_scaled == pytest.approx(loss_raw / norm, rel=1e-5)
