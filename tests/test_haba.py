"""HaBa: storage within budget, does-not-fit at IPC 1, decode identity after save/load, the adversarial
terms against hand-written formulas, the extractor's optimizer, resume, and a short fit."""

from __future__ import annotations

import copy
import math

import pytest
import torch

from baselines.haba import (
    HabaParameterization,
    bases_per_class,
    diversity,
    extractor_loss,
    hallucinator_size,
    supervised_contrastive,
)
from benchmark.budget import Budget
from benchmark.buffer import Buffer
from benchmark.errors import DoesNotFitError
from benchmark.seeding import generator as make_generator
from benchmark.spec import parse_spec
from benchmark.strategy import FitContext, resolve, strategy_class


def haba_config(**overrides):
    return (
        {key: p.default for key, p in HabaParameterization.params.items()}
        | {"extractor_width": 4}
        | overrides
    )


def make_haba(digits, tmp_path, **overrides):
    context = FitContext(cache_root=tmp_path, show_progress=False)
    budget = Budget(5, 10, digits.image_shape)
    return HabaParameterization(digits, budget, haba_config(**overrides), 0, context)


def test_hallucinator_size_matches_the_reference():
    assert hallucinator_size((3, 32, 32)) == 5568


@pytest.mark.parametrize("shape", [(1, 28, 28), (3, 32, 32)])
def test_ipc_1_does_not_fit(shape):
    with pytest.raises(DoesNotFitError, match="does not fit ipc 1") as error:
        bases_per_class(Budget(1, 10, shape), 5)
    assert error.value.numbers["budget"] == Budget(1, 10, shape).floats
    assert error.value.numbers["storage_needed"] > error.value.numbers["budget"]


def test_bases_follow_from_the_budget():
    assert bases_per_class(Budget(10, 10, (3, 32, 32)), 5) == (307200 - 5 * 5568) // 30720  # 9
    assert bases_per_class(Budget(10, 10, (1, 28, 28)), 5) == 7


def test_storage_within_budget_and_decode_identity_after_save_load(digits, tmp_path):
    budget = Budget(5, 10, digits.image_shape)
    haba = make_haba(digits, tmp_path)
    assert haba.n == (budget.floats - 5 * hallucinator_size(digits.image_shape)) // (10 * 64)
    buffer = haba.export()
    assert buffer.storage <= budget.floats
    buffer.check(budget)
    loaded = Buffer.from_bytes(buffer.to_bytes())
    images, labels, _ = loaded.materialize()
    assert images.shape == (10 * haba.n * 5, *digits.image_shape)
    with torch.no_grad():
        assert torch.allclose(images, haba.all_images(), atol=1e-6)
    assert labels.tolist() == torch.arange(10).repeat_interleave(haba.n * 5).tolist()


# ---- the adversarial terms against explicit formulas --------------------------------------------


def cos_by_hand(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    return (a * b).sum(1) / (a.norm(dim=1) * b.norm(dim=1))


def test_diversity_value_and_gradient_match_the_formula():
    a = torch.tensor([[1.0, 2.0, -1.0], [0.5, -3.0, 2.0]], dtype=torch.float64, requires_grad=True)
    b = torch.tensor([[2.0, 0.0, 1.0], [-1.0, 1.0, 4.0]], dtype=torch.float64)
    value = diversity(a, b)
    cos = cos_by_hand(a.detach(), b)
    assert value.item() == pytest.approx(((cos + 1) / 2).mean().item(), rel=1e-12)
    # first row by hand: a·b = 1, |a| = √6, |b| = √5
    assert cos[0].item() == pytest.approx(1 / math.sqrt(30), rel=1e-12)
    (grad,) = torch.autograd.grad(value, a)
    # d/da_k of (1/N) Σ (cos_k + 1) / 2 = (1 / 2N) · (b_k / (|a_k| |b_k|) − cos_k · a_k / |a_k|²)
    na, nb = a.detach().norm(dim=1, keepdim=True), b.norm(dim=1, keepdim=True)
    expected = (b / (na * nb) - cos[:, None] * a.detach() / na**2) / (2 * len(a))
    assert torch.allclose(grad, expected, rtol=1e-12, atol=0)
    # identical views score 1, opposite views 0
    assert diversity(b, b).item() == pytest.approx(1.0) and diversity(b, -b).item() == pytest.approx(0.0)


def supcon_by_hand(z: torch.Tensor, labels: list[int], temperature: float) -> float:
    total = 0.0
    for i in range(len(z)):
        others = [a for a in range(len(z)) if a != i]
        denominator = sum(math.exp(float(z[i] @ z[a]) / temperature) for a in others)
        positives = [p for p in others if labels[p] == labels[i]]
        terms = [math.log(math.exp(float(z[i] @ z[p]) / temperature) / denominator) for p in positives]
        total -= sum(terms) / len(terms)
    return total / len(z)


def test_supervised_contrastive_matches_the_formula():
    z = torch.randn(6, 4, generator=make_generator(3), dtype=torch.float64)
    z = z / z.norm(dim=1, keepdim=True)
    labels = [0, 1, 0, 0, 1, 0]
    got = supervised_contrastive(z, torch.tensor(labels), 0.5)
    assert got.item() == pytest.approx(supcon_by_hand(z, labels, 0.5), rel=1e-10)
    z.requires_grad_(True)
    (grad,) = torch.autograd.grad(supervised_contrastive(z, torch.tensor(labels), 0.07), z)
    assert torch.isfinite(grad).all()


def test_extractor_loss_matches_the_formula():
    rng = make_generator(5)
    feat_a, feat_b = torch.randn(2, 3, 4, generator=rng, dtype=torch.float64)
    logits = torch.randn(6, 5, generator=rng, dtype=torch.float64)
    labels = torch.tensor([2, 0, 2])
    weights = {"ce_weight": 1.0, "likelihood_weight": 0.1, "contrast_weight": 0.1, "temperature": 0.07}
    got = extractor_loss(logits, feat_a, feat_b, labels, **weights).item()

    both = labels.repeat(2)
    ce = -(logits[torch.arange(6), both] - logits.exp().sum(1).log()).mean().item()
    likelihood = ((1 - cos_by_hand(feat_a, feat_b)) / 2).mean().item()
    unit = torch.cat([feat_a, feat_b]) / torch.cat([feat_a, feat_b]).norm(dim=1, keepdim=True)
    contrast = supcon_by_hand(unit, both.tolist(), 0.07)
    assert got == pytest.approx(1.0 * ce + 0.1 * likelihood + 0.1 * contrast, rel=1e-10)


# ---- the parameterization's diversity term and extractor ----------------------------------------


def test_diversity_term_is_the_weighted_formula_over_two_distinct_hallucinators(digits, tmp_path):
    haba = make_haba(digits, tmp_path, diversity_dsa="none", batch_diversity=7)
    seen = []
    views_of = haba.hallucinated_views
    haba.hallucinated_views = lambda rng: seen.append(views_of(rng)) or seen[-1]
    value = haba.regularizer()
    (views, labels) = seen[0]
    assert views.shape == (14, *digits.image_shape) and labels.shape == (7,)
    feat_a, feat_b = haba.extractor.embed(views).chunk(2)
    expected = 0.1 * ((cos_by_hand(feat_a, feat_b) + 1) / 2).mean()
    assert value.item() == pytest.approx(expected.item(), rel=1e-5)
    # the two halves are two different hallucinators applied to the same 7 bases of the right classes
    flat = haba.bases.flatten(0, 1)
    outputs = [torch.cat([h(b[None]) for b in flat]) for h in haba.hallucinators]

    def match(view):
        pairs = [(k, i) for k in range(len(outputs)) for i in range(len(flat))]
        return [(k, i) for k, i in pairs if torch.allclose(view, outputs[k][i], atol=1e-6)]
    first = [match(v) for v in views[:7]]
    second = [match(v) for v in views[7:]]
    assert all(len(m) == 1 for m in first + second)
    assert len({m[0][0] for m in first}) == 1 and len({m[0][0] for m in second}) == 1
    assert first[0][0][0] != second[0][0][0]
    assert [m[0][1] for m in first] == [m[0][1] for m in second]
    assert labels.tolist() == [haba.classes[m[0][1] // haba.n] for m in first]


def test_diversity_reaches_bases_and_hallucinators_and_the_extractor_steps_before_the_next_term(
    digits, tmp_path
):
    haba = make_haba(digits, tmp_path)
    before = [p.clone() for p in haba.extractor.parameters()]
    haba.regularizer().backward()
    assert haba.bases.grad is not None and haba.bases.grad.abs().sum() > 0
    assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in haba.hallucinators.parameters())
    assert all(p.grad is None for p in haba.extractor.parameters())
    # the published order: diversity with the current extractor, then (after the bases' step) its step
    assert all(torch.equal(a, b) for a, b in zip(before, haba.extractor.parameters(), strict=True))
    haba.regularizer()
    assert any(not torch.equal(a, b) for a, b in zip(before, haba.extractor.parameters(), strict=True))


def test_extractor_optimizer_is_sgd_0_001_momentum_0_9_from_the_resolved_config(digits, tmp_path):
    for profile in ("paper", "quick"):
        cfg = resolve(parse_spec("haba"), profile, "cifar10", 10).config
        assert (cfg["lr_extractor"], cfg["momentum_extractor"]) == (0.001, 0.9)
    haba = make_haba(digits, tmp_path, diversity_dsa="none")
    assert (haba.extractor_sgd.lr, haba.extractor_sgd.momentum) == (0.001, 0.9)
    reference = copy.deepcopy(haba.extractor).requires_grad_(True)
    optimizer = torch.optim.SGD(reference.parameters(), lr=0.001, momentum=0.9)
    weights = {"ce_weight": 1.0, "likelihood_weight": 0.1, "contrast_weight": 0.1, "temperature": 0.07}
    for step in range(3):
        with torch.no_grad():
            views, labels = haba.hallucinated_views(make_generator(step))
        haba.train_extractor(views, labels)
        features = reference.embed(views)
        loss = extractor_loss(reference.classifier(features), *features.chunk(2), labels, **weights)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    for ours, theirs in zip(haba.extractor.parameters(), reference.parameters(), strict=True):
        assert torch.allclose(ours, theirs, rtol=1e-5, atol=1e-7)
    assert any(v.abs().sum() > 0 for v in haba.extractor_sgd.buffers())


def test_resume_restores_the_extractor_and_its_velocities(digits, tmp_path):
    haba = make_haba(digits, tmp_path)
    for _ in range(3):
        haba.regularizer()
    state = copy.deepcopy(haba.state_dict())
    assert any(key.startswith("extractor_sgd.velocity") for key in state)
    resumed = make_haba(digits, tmp_path)
    resumed.load_state_dict(state)
    assert haba.regularizer().item() == resumed.regularizer().item()
    for a, b in zip(haba.extractor.parameters(), resumed.extractor.parameters(), strict=True):
        assert torch.equal(a, b)


def test_no_diversity_without_weight_or_with_one_hallucinator(digits, tmp_path):
    for overrides in ({"diversity_weight": 0.0}, {"hallucinators": 1}):
        haba = make_haba(digits, tmp_path, **overrides)
        assert haba.regularizer().item() == 0.0


def test_quick_presets():
    cfg = resolve(parse_spec("haba"), "quick", "fashion_mnist", 10).config
    sizes = (cfg["extractor_width"], cfg["batch_diversity"], cfg["batch_syn"], cfg["iterations"])
    assert sizes == (32, 32, 32, 100)
    assert (cfg["diversity_weight"], cfg["momentum_lr"], cfg["diversity_dsa"]) == (0.1, 0.9, "auto")
    smoke = resolve(parse_spec("haba"), "smoke", "fashion_mnist", 10).config
    assert (smoke["extractor_width"], smoke["iterations"]) == (8, 3)


def test_haba_strategy_with_tm_fits_and_refuses_ipc_1(digits, tmp_path):
    spec = parse_spec(
        "haba:iterations=2:num_experts=1:expert_train_epochs=3:max_start=1:expert_subset=5:net_width=4"
        ":syn_steps=2:dsa=none:extractor_width=4:lr_bases=1.0:lr_hallucinators=0.01"
    )
    resolved = resolve(spec, "quick", "digits", 5)
    assert resolved.config["objective"] == "tm"
    context = FitContext(cache_root=tmp_path, show_progress=False)
    cls = strategy_class("haba")
    buffer = cls(resolved.config).fit(digits, Budget(5, 10, digits.image_shape), 0, context)
    assert buffer.kind == "haba" and buffer.learned_lr is not None
    buffer.check(Budget(5, 10, digits.image_shape))
    with pytest.raises(DoesNotFitError):
        cls(resolved.config).fit(digits, Budget(1, 10, digits.image_shape), 0, context)
