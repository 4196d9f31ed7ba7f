"""Train a fresh network on a training set and report final-epoch test accuracy (PROTOCOL.md §1)."""

from __future__ import annotations

from dataclasses import replace

import torch
import torch.nn as nn
import torch.nn.functional as F

from benchmark.augment.dsa import DSA
from benchmark.data.classdata import Split
from benchmark.nets import create_network
from benchmark.progress import progress
from benchmark.seeding import generator as make_generator
from benchmark.seeding import seeded
from benchmark.training.compiled import should_compile, training_forward
from benchmark.training.job import EvaluationJob
from benchmark.training.recipe import EvalRecipe


class BatchStandardized(nn.Module):
    """``net`` fed x ← (x − mean(x)) / std(x), mean and std over the whole batch (the SPEED and HaBa
    codes' per-batch standardisation; PROTOCOL.md §12). Shares ``net``'s parameters."""

    def __init__(self, net: nn.Module):
        super().__init__()
        self.net = net

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net((x - x.mean()) / x.std())

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        return self.net.embed((x - x.mean()) / x.std())


def training_layout(net: nn.Module) -> torch.memory_format:
    """The layout a network trains and tests in: NCHW with instance/group norm (``nn.GroupNorm``),
    whose CPU kernel and our pooling are fastest there; channels-last (NHWC, oneDNN's layout)
    otherwise. One SGD step, alternating rounds (docs/performance.md): NCHW 1.35× faster for
    ConvNet, 1.17× for ResNet18, 1.13× for VGG11; channels-last 1.12× faster for ResNet18BN and
    1.06× for AlexNet."""
    has_group_norm = any(isinstance(m, nn.GroupNorm) for m in net.modules())
    return torch.contiguous_format if has_group_norm else torch.channels_last


def make_optimizer(net: nn.Module, lr: float, recipe: EvalRecipe) -> torch.optim.Optimizer:
    return torch.optim.SGD(
        net.parameters(), lr=lr, momentum=recipe.momentum, weight_decay=recipe.weight_decay
    )


def train_network(
    net: nn.Module,
    images: torch.Tensor,
    labels: torch.Tensor,
    lr: float,
    recipe: EvalRecipe,
    seed: int,
    device: torch.device | str = "cpu",
    show_progress: bool = True,
    desc: str = "train",
    compile_mode: str = "auto",
) -> nn.Module:
    """PROTOCOL.md §1: shuffled batches, cross-entropy, lr × 0.1 at half (optimizer re-created).

    ``compile_mode`` (auto|on|off) decides whether the steps run through ``torch.compile``
    (benchmark/training/compiled.py); the optimizer and the returned network are the plain module.
    Images and network run in ``training_layout(net)``;
    ``recipe.precision`` ``bf16`` runs forward and loss under bfloat16 autocast (opt-in).
    """
    layout = training_layout(net)
    net = net.to(device, memory_format=layout).train()
    images, labels = images.to(device), labels.to(device)
    rng = make_generator(seed)
    dsa = DSA(recipe.dsa) if recipe.dsa else None
    optimizer = make_optimizer(net, lr, recipe)
    n = len(labels)
    forward = training_forward(net, should_compile(compile_mode, device, recipe.epochs, n))
    for epoch in progress(range(recipe.epochs), desc=desc, enabled=show_progress):
        if epoch == recipe.epochs // 2 and epoch > 0:
            lr *= 0.1
            optimizer = make_optimizer(net, lr, recipe)  # momentum reset, as the references do
        order = torch.randperm(n, generator=rng).to(device)
        for start in range(0, n, recipe.batch_size):
            batch = order[start : start + recipe.batch_size]
            x = images[batch]
            if dsa is not None:
                x = dsa(x, rng)
            with autocast(recipe, device):
                loss = F.cross_entropy(forward(x.contiguous(memory_format=layout)), labels[batch])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
    return net


@torch.no_grad()
def test_accuracy(
    net: nn.Module, split: Split, device: torch.device | str = "cpu", batch_size: int = 1000
) -> float:
    """Fraction of ``split`` classified correctly (eval mode)."""
    net = net.to(device).eval()
    layout = training_layout(net)
    correct = 0
    for start in range(0, len(split), batch_size):
        x = split.images[start : start + batch_size].to(device).contiguous(memory_format=layout)
        y = split.labels[start : start + batch_size].to(device)
        correct += int((net(x).argmax(1) == y).sum())
    net.train()
    return correct / max(len(split), 1)


def autocast(recipe: EvalRecipe, device: torch.device | str):
    """bfloat16 autocast for ``precision="bf16"`` (recorded in the recipe), else nothing."""
    return torch.autocast(torch.device(device).type, dtype=torch.bfloat16, enabled=recipe.precision == "bf16")


def per_class_subset(split: Split, per_class: int, seed: int = 0) -> Split:
    """A seeded subset of ``per_class`` test images per class (0: the whole split)."""
    if per_class <= 0:
        return split
    rng = make_generator(seed)
    chosen = []
    for c in torch.unique(split.labels).tolist():
        indices = split.class_indices(c)
        chosen.append(indices[torch.randperm(len(indices), generator=rng)[:per_class]])
    keep = torch.sort(torch.cat(chosen)).values
    return Split(split.images[keep], split.labels[keep])


def train_and_test(
    job: EvaluationJob,
    device: torch.device | str = "cpu",
    show_progress: bool = False,
    compile_mode: str = "auto",
) -> tuple[nn.Module, float]:
    """Train a fresh ``job.network`` (seeded) on the job's training set; return it and its accuracy
    on the job's test split (the recipe's ``test_subset`` applied). Labels keep global ids, so the
    network has an output for every class of the dataset."""
    data, recipe, training = job.data, job.recipe, job.training
    if recipe.dsa == "auto":
        recipe = replace(recipe, dsa=data.augmentation)
    net = seeded(
        job.seed,
        lambda: create_network(
            job.network, data.channels, data.image_size, data.num_classes, **recipe.network_options
        ),
    )
    if recipe.standardize:  # after the DSA draw, on train and test batches alike
        net = BatchStandardized(net)
    train_network(
        net, training.images, training.labels, recipe.learning_rate(training.lr), recipe, job.seed, device,
        show_progress, desc=job.network, compile_mode=compile_mode,
    )  # fmt: skip
    split = per_class_subset(job.test if job.test is not None else data.test, recipe.test_subset)
    return net, test_accuracy(net, split, device)
