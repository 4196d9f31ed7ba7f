"""Train a fresh network on a training set and report final-epoch test accuracy (docs/protocol.md §1)."""

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

SOFT_LABEL_LOSS = "kl"  # the records' name of soft_label_loss


def standardized(x: torch.Tensor) -> torch.Tensor:
    """x ← (x − mean(x)) / std(x), mean and std over the whole batch (the SPEED and HaBa codes'
    per-batch standardisation; docs/protocol.md §12)."""
    return (x - x.mean()) / x.std()


class BatchStandardized(nn.Module):
    """``net`` fed each batch standardised (how a network trained with ``recipe.standardize`` is
    tested, and used by any suite's metrics). Shares ``net``'s parameters."""

    def __init__(self, net: nn.Module):
        super().__init__()
        self.net = net

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(standardized(x))

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        return self.net.embed(standardized(x))


def training_layout(net: nn.Module) -> torch.memory_format:
    """The layout a network trains and tests in: NCHW with instance/group norm (``nn.GroupNorm``),
    whose CPU kernel and our pooling are fastest there; channels-last (NHWC, oneDNN's layout)
    otherwise; which layout is faster per network is measured in benchmarks/test_evaluation.py
    (figures in docs/performance.md)."""
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
    soft_targets: torch.Tensor | None = None,
    temperature: float = 1.0,
) -> nn.Module:
    """docs/protocol.md §1: shuffled batches, cross-entropy, lr × 0.1 at half (optimizer re-created),
    on ``recipe.lr_schedule()``; with ``recipe.standardize`` each batch standardised before its DSA draw.

    ``soft_targets`` (N, outputs) probabilities: :func:`soft_label_loss` at ``temperature`` instead of
    cross-entropy; a batch indexes images and targets together, and DSA leaves the targets as they are.

    ``compile_mode`` (auto|on|off) decides whether the steps run through ``torch.compile``
    (benchmark/training/compiled.py); the optimizer and the returned network are the plain module.
    Images and network run in ``training_layout(net)``;
    ``recipe.precision`` ``bf16`` runs forward and loss under bfloat16 autocast (opt-in).
    """
    layout = training_layout(net)
    net = net.to(device, memory_format=layout).train()
    images, labels = images.to(device), labels.to(device)
    if soft_targets is not None:
        soft_targets = soft_targets.to(device)
    rng = make_generator(seed)
    dsa = DSA(recipe.dsa) if recipe.dsa else None
    optimizer = make_optimizer(net, lr, recipe)
    n = len(labels)
    passes, decay_before = recipe.lr_schedule()
    forward = training_forward(net, should_compile(compile_mode, device, passes, n))
    for epoch in progress(range(passes), desc=desc, enabled=show_progress):
        if epoch == decay_before and epoch > 0:
            lr *= 0.1
            optimizer = make_optimizer(net, lr, recipe)  # momentum reset, as the references do
        order = torch.randperm(n, generator=rng).to(device)
        for start in range(0, n, recipe.batch_size):
            batch = order[start : start + recipe.batch_size]
            x = images[batch]
            if recipe.standardize:
                x = standardized(x)
            if dsa is not None:
                x = dsa(x, rng)
            with autocast(recipe, device):
                outputs = forward(x.contiguous(memory_format=layout))
                if soft_targets is None:
                    loss = F.cross_entropy(outputs, labels[batch])
                else:
                    loss = soft_label_loss(outputs, soft_targets[batch], temperature)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
    return net


def soft_label_loss(outputs: torch.Tensor, targets: torch.Tensor, temperature: float) -> torch.Tensor:
    """T² · KL(targets ‖ softmax(outputs / T)), averaged over the batch (the knowledge-distillation
    loss; T² keeps the gradient's scale across temperatures). For probabilities at T = 1 its gradient
    is soft cross-entropy's (they differ by the targets' entropy, a constant)."""
    log_probabilities = F.log_softmax(outputs.float() / temperature, dim=1)
    return F.kl_div(log_probabilities, targets, reduction="batchmean") * temperature**2


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
    network has an output for every class of the dataset; soft labels, where the training set has
    them, train with :func:`soft_label_loss` (recorded as ``SOFT_LABEL_LOSS``)."""
    data, recipe, training = job.data, job.recipe, job.training
    if recipe.dsa == "auto":
        recipe = replace(recipe, dsa=data.augmentation)
    net = seeded(
        job.seed,
        lambda: create_network(
            job.network, data.channels, data.image_size, data.num_classes, **recipe.network_options
        ),
    )
    soft = training.soft_labels
    train_network(
        net, training.images, training.labels, recipe.learning_rate(training.lr), recipe, job.seed, device,
        show_progress, desc=job.network, compile_mode=compile_mode,
        soft_targets=soft.targets(data.num_classes) if soft is not None else None,
        temperature=soft.temperature if soft is not None else 1.0,
    )  # fmt: skip
    if recipe.standardize:  # training standardised its batches itself
        net = BatchStandardized(net)
    split = per_class_subset(job.test if job.test is not None else data.test, recipe.test_subset)
    return net, test_accuracy(net, split, device, recipe.test_batch_size)
