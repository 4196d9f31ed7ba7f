"""SPEED's ten published settings, resolved in the paper profile, against literal values.

Source of every number: the published code, github.com/MIV-XJTU/SPEED, networks.py (the FReeNet
factory of each setting at the end of the file, named by patch, D, R ("d…b") and H, with N/c, K,
k, λ ("l1"), batch_syn, syn_steps and max_start in the comment above it) and distill.py's defaults
(20 000 iterations, 2 expert epochs); the same table is docs/protocol.md §6.
"""

from __future__ import annotations

import pytest

from benchmark.spec import parse_spec
from benchmark.strategy import resolve
from speed.planner import dataset_shape, plan

KEYS = ("tokens", "k", "dim", "depth", "heads", "patch", "lam", "batch_syn", "syn_steps", "max_start")
# (dataset, ipc): N/c, then K, k, D, R, H, patch, λ, batch_syn, syn_steps, max_start
ROWS = {
    ("cifar10", 1): (17, (16, 48, 32, 1, 2, 4, 3e-6, 64, 60, 10)),
    ("cifar10", 10): (124, (64, 48, 96, 1, 3, 4, 3e-7, 128, 60, 20)),
    ("cifar10", 50): (272, (64, 48, 192, 3, 6, 4, 7e-8, 256, 60, 40)),
    ("cifar100", 1): (11, (64, 48, 96, 2, 3, 4, 3e-7, 128, 60, 40)),
    ("cifar100", 10): (62, (64, 48, 192, 3, 6, 4, 7e-8, 256, 60, 40)),
    ("cifar100", 50): (100, (64, 166, 192, 3, 6, 4, 3e-8, 256, 60, 40)),
    ("tinyimagenet", 1): (17, (128, 48, 256, 2, 8, 8, 7e-8, 340, 20, 40)),
    ("tinyimagenet", 10): (78, (128, 128, 256, 2, 8, 8, 7e-9, 780, 20, 40)),
    ("imagenette", 1): (15, (256, 192, 192, 2, 4, 8, 7e-7, 32, 60, 10)),
    ("imagenette", 10): (111, (256, 384, 384, 2, 6, 8, 7e-8, 32, 40, 20)),
}
# ImageNet subsets share a row; λ is 7e-7 / 7e-8 for nette, fruit, meow and 3e-7 / 3e-8 for woof,
# squawk, yellow
SUBSET_LAM = {
    "imagenette": (7e-7, 7e-8), "imagefruit": (7e-7, 7e-8), "imagemeow": (7e-7, 7e-8),
    "imagewoof": (3e-7, 3e-8), "imagesquawk": (3e-7, 3e-8), "imageyellow": (3e-7, 3e-8),
}  # fmt: skip


@pytest.mark.parametrize("classes", [None, "all"])
@pytest.mark.parametrize("dataset,ipc", sorted(ROWS))
def test_paper_profile_resolves_the_published_row(dataset, ipc, classes):
    image_shape, all_classes = dataset_shape(dataset)
    cfg = resolve(parse_spec("speed"), "paper", dataset, ipc, all_classes if classes else None).config
    per_class, row = ROWS[(dataset, ipc)]
    assert tuple(cfg[key] for key in KEYS) == row
    assert (cfg["iterations"], cfg["expert_epochs"], cfg["objective"]) == (20000, 2, "tm")
    assert cfg["images_per_class"] == 0  # the largest that fits, which is the published N/c:
    arch = {key: cfg[key] for key in ("dim", "tokens", "heads", "k", "depth", "patch")}
    assert plan(all_classes, ipc, image_shape, **arch).images_per_class == per_class


@pytest.mark.parametrize("subset", sorted(SUBSET_LAM))
def test_every_imagenet_subset_gets_the_shared_row_and_its_lambda(subset):
    for ipc, lam in zip((1, 10), SUBSET_LAM[subset], strict=True):
        cfg = resolve(parse_spec("speed"), "paper", subset, ipc).config
        row = ROWS[("imagenette", ipc)][1]
        assert tuple(cfg[key] for key in KEYS) == row[:6] + (lam,) + row[7:]


@pytest.mark.parametrize(
    "dataset,ipc,network",
    [("cifar10", 1, "ConvNet"), ("cifar100", 50, "ConvNet"), ("tinyimagenet", 10, "ConvNetD4"),
     ("imagenette", 1, "ConvNetD5"), ("imageyellow", 10, "ConvNetD5")],
)  # fmt: skip
def test_paper_rows_train_on_the_published_convnet_depth(dataset, ipc, network):
    # the SPEED README's commands: --model ConvNet (CIFAR), ConvNetD4 (Tiny), ConvNetD5 (ImageNet);
    # SPEED × TM takes it from TM's presets
    assert resolve(parse_spec("speed"), "paper", dataset, ipc).config["network"] == network
