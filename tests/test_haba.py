"""HaBa: storage within budget, does-not-fit at IPC 1, decode identity after save/load, a short fit."""

from __future__ import annotations

import pytest
import torch

from baselines.haba import HabaParameterization, bases_per_class, hallucinator_size
from benchmark.budget import Budget
from benchmark.buffer import Buffer
from benchmark.errors import DoesNotFitError
from benchmark.spec import parse_spec
from benchmark.strategy import FitContext, resolve, strategy_class


def haba_config(**overrides):
    return (
        {key: p.default for key, p in HabaParameterization.params.items()}
        | {"extractor_width": 4}
        | overrides
    )


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
    context = FitContext(cache_root=tmp_path, show_progress=False)
    haba = HabaParameterization(digits, budget, haba_config(), 0, context)
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


def test_diversity_term_reaches_the_hallucinators(digits, tmp_path):
    context = FitContext(cache_root=tmp_path, show_progress=False)
    haba = HabaParameterization(digits, Budget(5, 10, digits.image_shape), haba_config(), 0, context)
    before = [p.clone() for p in haba.extractor.parameters()]
    haba.regularizer().backward()
    assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in haba.hallucinators.parameters())
    assert all(p.grad is None for p in haba.extractor.parameters())
    assert any(not torch.equal(a, b) for a, b in zip(before, haba.extractor.parameters(), strict=True))


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
