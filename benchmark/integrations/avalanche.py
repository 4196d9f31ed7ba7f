"""An avalanche plugin that trains on a memory built by any registered strategy (GDumb-style).

At each training experience :class:`DistilledMemoryPlugin` hands that experience's training data
(and nothing else) to a registered strategy with a budget of ``ipc`` × the experience's classes,
appends the materialized buffer to its memory (the union of all buffers so far), resets the model
to its initial weights and makes the avalanche strategy train on the memory only. Combine it with
avalanche's ``Naive`` to get GDumb with a distilled or selected memory.

This module imports avalanche (slow); nothing in ``benchmark`` imports it at start-up.
"""

from __future__ import annotations

import copy
import warnings
from collections import defaultdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch

from benchmark.buffer import Buffer
from benchmark.data.classdata import ClassData, Split
from benchmark.engine.buffers import fit_buffer
from benchmark.errors import UserInputError
from benchmark.seeding import derive_seed
from benchmark.spec import parse_spec
from benchmark.strategy import FitContext, ResolvedSpec, resolve, strategy_class

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # avalanche warns about optional solvers it does not need
    from avalanche.benchmarks.utils.classification_dataset import (
        _make_taskaware_tensor_classification_dataset,
    )
    from avalanche.core import SupervisedPlugin

if TYPE_CHECKING:
    from avalanche.training.templates import SupervisedTemplate


class DistilledMemoryPlugin(SupervisedPlugin):
    """GDumb with a memory produced by a registered strategy from each experience's data.

    :param strategy: a strategy spec, e.g. ``"random"``, ``"herding"``, ``"dm:iterations=10"``.
    :param ipc: images per class of each experience's budget.
    :param dataset: dataset name the strategy's presets are looked up for (decision 9).
    :param profile: the presets' profile (``quick`` or ``paper``).
    :param seed: base seed; experience ``t`` uses a seed derived from (seed, t).
    :param device: where the strategy fits; None: the avalanche strategy's device.
    :param cache_root: where strategies keep their caches (feature networks, experts).
    :param mean, std: per-channel normalisation that produced the images (recorded in the
        ClassData the strategy receives); None: 0 and 1 (the images are taken as given).
    :param num_classes: output size of the network; None: the largest label seen so far + 1.
    :param augmentation: DSA families the strategy may use; None: ClassData's default.

    After each experience, ``memory_images`` / ``memory_labels`` / ``memory_task_labels`` hold the
    memory (CPU tensors, in the order the buffers were produced) and ``buffers`` the buffers.
    """

    def __init__(
        self,
        strategy: str,
        ipc: int,
        dataset: str = "custom",
        profile: str = "quick",
        seed: int = 0,
        device: str | torch.device | None = None,
        cache_root: str | Path = "results",
        mean: tuple[float, ...] | None = None,
        std: tuple[float, ...] | None = None,
        num_classes: int | None = None,
        augmentation: str | None = None,
        show_progress: bool = False,
    ):
        super().__init__()
        if not isinstance(ipc, int) or isinstance(ipc, bool) or ipc <= 0:
            raise UserInputError(f"ipc must be a positive integer, got {ipc!r}; use e.g. ipc=10")
        self.resolved: ResolvedSpec = resolve(parse_spec(strategy), profile, dataset, ipc)
        self.strategy_cls = strategy_class(self.resolved.name)
        if not self.strategy_cls.budgeted:
            raise UserInputError(
                f"strategy {self.resolved.name!r} is unbudgeted and cannot build a memory; "
                "choose a budgeted strategy such as random, herding or dm"
            )
        self.ipc = ipc
        self.dataset = dataset
        self.profile = profile
        self.seed = seed
        self.device = device
        self.cache_root = Path(cache_root)
        self.mean = mean
        self.std = std
        self.num_classes = num_classes
        self.augmentation = augmentation
        self.show_progress = show_progress

        self.buffers: list[Buffer] = []
        self.memory_images: torch.Tensor | None = None
        self.memory_labels = torch.empty(0, dtype=torch.long)
        self.memory_task_labels = torch.empty(0, dtype=torch.long)
        self._init_model: torch.nn.Module | None = None
        self._max_label = -1

    # ---- hooks ---------------------------------------------------------------------------
    def before_train_dataset_adaptation(self, strategy: SupervisedTemplate, **kwargs: Any) -> None:
        """Keep the initial model at the first experience; reset to it at every later one."""
        if self._init_model is None:
            self._init_model = copy.deepcopy(strategy.model)
        else:
            self._reset_model(strategy)
        strategy.model_adaptation(self._init_model)

    def before_eval_dataset_adaptation(self, strategy: SupervisedTemplate, **kwargs: Any) -> None:
        # As GDumbPlugin: dynamic modules of the kept initial model grow with the stream too.
        if self._init_model is not None:
            strategy.model_adaptation(self._init_model)

    def after_train_dataset_adaptation(self, strategy: SupervisedTemplate, **kwargs: Any) -> None:
        """Fit the strategy on this experience, grow the memory, train on the memory only."""
        experience = strategy.experience
        images, labels, task_labels = experience_tensors(experience.dataset)
        device = torch.device(self.device if self.device is not None else strategy.device)
        buffer = self.fit_buffer(images, labels, len(self.buffers), device)
        memory_images, memory_labels, _ = buffer.materialize("cpu")
        task_label = int(task_labels[0]) if len(task_labels) else 0
        self.buffers.append(buffer)
        self._append(memory_images, memory_labels, task_label)
        strategy.adapted_dataset = self.memory_dataset().train()

    # ---- memory --------------------------------------------------------------------------
    def fit_buffer(
        self, images: torch.Tensor, labels: torch.Tensor, index: int, device: torch.device
    ) -> Buffer:
        """The registered strategy's buffer for one experience's images and labels (fitted,
        stamped and budget-checked exactly as the benchmark's suites do)."""
        data = self.class_data(images, labels)
        seed = derive_seed("avalanche-memory", self.seed, index)
        context = FitContext(
            device=device, cache_root=self.cache_root, profile=self.profile, show_progress=self.show_progress
        )
        return fit_buffer(self.resolved, data, self.ipc, seed, context, experience=index)

    def class_data(self, images: torch.Tensor, labels: torch.Tensor) -> ClassData:
        """One experience's training data as a ClassData holding only its classes (no val/test)."""
        if images.ndim != 4:
            raise UserInputError(
                f"the experience's images have shape {tuple(images.shape)}; the plugin needs image "
                "tensors of shape (C, H, W) per item (add a ToTensor transform)"
            )
        classes = sorted(int(c) for c in labels.unique())
        self._max_label = max(self._max_label, classes[-1])
        num_classes = self.num_classes if self.num_classes is not None else self._max_label + 1
        if self._max_label >= num_classes:
            raise UserInputError(
                f"label {self._max_label} does not fit num_classes={num_classes}; "
                "pass a larger num_classes or leave it None"
            )
        channels = images.shape[1]
        empty = Split(images[:0], labels[:0])
        extra = {"augmentation": self.augmentation} if self.augmentation is not None else {}
        return ClassData(
            name=self.dataset,
            class_names=[str(c) for c in range(num_classes)],
            image_shape=tuple(int(s) for s in images.shape[1:]),
            mean=tuple(self.mean) if self.mean is not None else (0.0,) * channels,
            std=tuple(self.std) if self.std is not None else (1.0,) * channels,
            train=Split(images, labels),
            val=empty,
            test=empty,
            classes=classes,
            **extra,
        )

    def memory_dataset(self):
        """The memory as an avalanche classification dataset of (x, y, task label) items."""
        if self.memory_images is None:
            raise RuntimeError("the memory is empty until the first training experience")
        return _make_taskaware_tensor_classification_dataset(
            self.memory_images,
            self.memory_labels,
            task_labels=self.memory_task_labels.tolist(),
            targets=self.memory_labels,
        )

    def _append(self, images: torch.Tensor, labels: torch.Tensor, task_label: int) -> None:
        images = images.detach().cpu()
        labels = labels.detach().cpu().long()
        tasks = torch.full_like(labels, task_label)
        if self.memory_images is None:
            self.memory_images = images
        else:
            self.memory_images = torch.cat([self.memory_images, images])
        self.memory_labels = torch.cat([self.memory_labels, labels])
        self.memory_task_labels = torch.cat([self.memory_task_labels, tasks])

    def _reset_model(self, strategy: SupervisedTemplate) -> None:
        """Initial weights in place (the optimizer keeps its parameters, loses its state); a model
        whose shapes changed (dynamic modules) is replaced by a copy of the initial one instead."""
        initial = self._init_model.state_dict()
        current = strategy.model.state_dict()
        same = initial.keys() == current.keys() and all(initial[k].shape == current[k].shape for k in initial)
        if same:
            strategy.model.load_state_dict(initial)
            strategy.model.train()
        else:
            strategy.model = copy.deepcopy(self._init_model)
        if getattr(strategy, "optimizer", None) is not None:
            strategy.optimizer.state = defaultdict(dict)


def experience_tensors(dataset) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(images, labels, task labels) of an avalanche dataset, read with its eval transforms."""
    if hasattr(dataset, "eval"):
        dataset = dataset.eval()  # deterministic preprocessing: no training augmentation
    if len(dataset) == 0:
        raise UserInputError("the training experience holds no data; every experience needs images")
    loader = torch.utils.data.DataLoader(dataset, batch_size=256, shuffle=False)
    images, labels, tasks = [], [], []
    for batch in loader:
        images.append(torch.as_tensor(batch[0]).float())
        labels.append(torch.as_tensor(batch[1]).long())
        tasks.append(torch.as_tensor(batch[2]).long() if len(batch) > 2 else torch.zeros_like(labels[-1]))
    return torch.cat(images), torch.cat(labels), torch.cat(tasks)


__all__ = ["DistilledMemoryPlugin", "experience_tensors"]
