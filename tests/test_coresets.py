"""Coreset selectors: herding, k-center greedy, forgetting events, and the shared feature network."""

from __future__ import annotations

import pytest
import torch

from baselines.coresets import feature_network as fn
from baselines.coresets.forgetting import count_forgetting_events, most_forgotten
from baselines.coresets.herding import herding_select
from baselines.coresets.kcenter import kcenter_select
from baselines.coresets.strategies import ForgettingStrategy, HerdingStrategy, KCenterStrategy
from benchmark.budget import Budget
from benchmark.buffer import Buffer
from benchmark.data.load import load_dataset
from benchmark.errors import UserInputError
from benchmark.seeding import generator as make_generator
from benchmark.spec import parse_spec
from benchmark.strategy import FitContext, resolve


# ---- herding ---------------------------------------------------------------------------------
def test_herding_picks_by_hand_order_argmin():
    # 1-D points 0, 1, 2, 3, 10 (as 2-D with a zero coordinate); mean 3.2.
    # step 0: |3.2 - f| → 3; step 1: |6.4 - 3 - f| → 2; step 2: |9.6 - 5 - f| → 1;
    # step 3: |12.8 - 6 - f| → 10; step 4: the remaining 0.
    points = torch.tensor([[0.0, 0.0], [1.0, 0.0], [2.0, 0.0], [3.0, 0.0], [10.0, 0.0]])
    assert herding_select(points, 5).tolist() == [3, 2, 1, 4, 0]
    assert herding_select(points, 2).tolist() == [3, 2]


def test_herding_running_mean_tracks_class_mean():
    features = torch.randn(200, 8, generator=make_generator(0))
    chosen = herding_select(features, 20)
    assert len(set(chosen.tolist())) == 20
    herd_error = (features[chosen].mean(0) - features.mean(0)).norm()
    random_error = (features[:20].mean(0) - features.mean(0)).norm()
    assert herd_error < random_error


def test_herding_ties_go_to_lowest_index():
    points = torch.tensor([[1.0], [-1.0], [1.0], [-1.0]])  # mean 0: all tie at step 0
    assert herding_select(points, 1).tolist() == [0]


# ---- k-center --------------------------------------------------------------------------------
def _seed_whose_first_draw_is(value: int, n: int) -> int:
    for seed in range(1000):
        if int(torch.randint(n, (1,), generator=make_generator(seed))) == value:
            return seed
    raise AssertionError("no seed found")


def test_kcenter_picks_farthest_points_by_hand():
    # 1-D points 0, 1, 3, 7, 15; first centre 0 → 15 (farthest) → 7 (min(7, 8)) → 3 (min(3, 12)).
    points = torch.tensor([[0.0], [1.0], [3.0], [7.0], [15.0]])
    seed = _seed_whose_first_draw_is(0, 5)
    assert kcenter_select(points, 4, make_generator(seed)).tolist() == [0, 4, 3, 2]
    # First centre 7 (position 3): 15 is farthest (8), then 0 (7 from its nearest centre 7).
    seed = _seed_whose_first_draw_is(3, 5)
    assert kcenter_select(points, 3, make_generator(seed)).tolist() == [3, 4, 0]


def test_kcenter_covers_every_cluster_and_never_repeats():
    clusters = torch.tensor([[0.0, 0.0], [0.1, 0.0], [100.0, 0.0], [100.0, 0.1], [0.0, 100.0], [0.0, 100.0]])
    for seed in range(5):
        chosen = kcenter_select(clusters, 3, make_generator(seed)).tolist()
        assert sorted(p // 2 for p in chosen) == [0, 1, 2]
    duplicates = torch.zeros(4, 2)
    assert sorted(kcenter_select(duplicates, 4, make_generator(0)).tolist()) == [0, 1, 2, 3]


# ---- forgetting ------------------------------------------------------------------------------
def test_forgetting_counts_scripted_sequence():
    T, F = True, False
    per_sample = [
        [T, T, T, T, T],  # always right: 0
        [T, F, T, F, T],  # forgotten twice
        [F, F, F, F, F],  # never learned: most forgotten
        [F, T, F, F, T],  # once
        [T, F, F, F, F],  # once
        [F, F, F, F, T],  # learned late, never forgotten: 0
    ]
    correctness = torch.tensor(per_sample).T  # (epochs, n)
    counts = count_forgetting_events(correctness)
    assert counts[:2].tolist() == [0, 2] and counts[3:].tolist() == [1, 1, 0]
    assert torch.isinf(counts[2])
    assert most_forgotten(counts, 4).tolist() == [2, 1, 3, 4]  # ties (3, 4) by index


# ---- strategies end to end -------------------------------------------------------------------
@pytest.fixture(scope="module")
def digits():
    return load_dataset("digits")


def _config(name: str, ipc: int, **given):
    spec = parse_spec(":".join([name] + [f"{k}={v}" for k, v in given.items()]))
    return resolve(spec, "quick", "digits", ipc).config


def _context(tmp_path) -> FitContext:
    return FitContext(cache_root=tmp_path, show_progress=False)


def _assert_real_images_of_classes(buffer: Buffer, data, classes, ipc):
    images = buffer.tensors["images"]
    assert images.dtype == torch.float32 and images.shape == (ipc * len(classes), *data.image_shape)
    assert buffer.manifest["classes"] == classes
    flat_train = data.train.images.flatten(1)
    for position, image in enumerate(images):
        match = torch.nonzero((flat_train == image.flatten()).all(1)).flatten()
        assert len(match) >= 1
        assert int(data.train.labels[match[0]]) == classes[position // ipc]


@pytest.mark.parametrize("cls", [HerdingStrategy, KCenterStrategy, ForgettingStrategy])
def test_strategy_end_to_end_on_digits(cls, digits, tmp_path):
    classes = [1, 3, 5]
    data = digits.restricted_to(classes)
    ipc = 3
    budget = Budget(ipc, len(classes), data.image_shape)
    buffer = cls(_config(cls.name, ipc, epochs=1, width=8)).fit(data, budget, 0, _context(tmp_path))
    _assert_real_images_of_classes(buffer, data, classes, ipc)
    assert buffer.storage == budget.floats
    buffer.check(budget)
    loaded = Buffer.load(buffer.save(tmp_path / "b.safetensors"))
    images, labels, lr = loaded.materialize()
    assert labels.tolist() == [c for c in classes for _ in range(ipc)] and lr is None
    assert len(set(map(tuple, images.flatten(1).tolist()))) == ipc * len(classes)  # distinct images


def test_feature_network_cache_is_shared_and_reused(digits, tmp_path, monkeypatch):
    data = digits
    budget = Budget(2, 10, data.image_shape)
    config = _config("herding", 2, epochs=1, width=8, subset=20)
    first_forgetting = ForgettingStrategy(config).fit(data, budget, 7, _context(tmp_path))
    first_herding = HerdingStrategy(config).fit(data, budget, 7, _context(tmp_path))
    assert len(list((tmp_path / "cache" / "feature_network").glob("*.safetensors"))) == 1

    def no_training(*args, **kwargs):
        raise AssertionError("the feature network was trained again instead of loaded")

    monkeypatch.setattr(fn, "train_recording", no_training)
    again = HerdingStrategy(config).fit(data, budget, 7, _context(tmp_path))
    assert torch.equal(again.tensors["images"], first_herding.tensors["images"])
    KCenterStrategy(config).fit(data, budget, 7, _context(tmp_path))
    again = ForgettingStrategy(config).fit(data, budget, 7, _context(tmp_path))
    assert torch.equal(again.tensors["images"], first_forgetting.tensors["images"])
    with pytest.raises(AssertionError, match="trained again"):  # another seed is another network
        HerdingStrategy(config).fit(data, budget, 8, _context(tmp_path))


def test_presets_and_forgetting_subset_check(digits, tmp_path):
    assert _config("kcenter", 1)["width"] == 32
    assert resolve(parse_spec("herding"), "paper", "fashion_mnist", 10).config["epochs"] == 40
    assert fn.resolve_depth(0, 28) == 3 and fn.resolve_depth(0, 64) == 4 and fn.resolve_depth(0, 8) == 1
    config = _config("forgetting", 5, epochs=1, width=8, subset=2)
    with pytest.raises(UserInputError, match="subset"):
        ForgettingStrategy(config).fit(digits, Budget(5, 10, digits.image_shape), 0, _context(tmp_path))
