"""avalanche users' view of the benchmark: a memory built by any registered strategy.

At each training experience a registered strategy (``random``, ``herding``, ``dm``, ``speed:…``)
receives that experience's training data and a budget of ``ipc`` × the experience's classes; its
buffer joins the memory (the union of all buffers so far). Three ways in, as avalanche offers its
own memories:

- :class:`DistilledMemoryPlugin`: GDumb with a distilled memory (combine it with ``Naive``): the
  model restarts from its initial weights and trains on the memory only at every experience;
- :class:`DistilledBuffer`: a storage policy (``ExemplarsBuffer``) for ``ReplayPlugin`` and any
  plugin that takes one; :func:`distilled_replay` builds the replay plugin with it;
- :class:`DistilledGDumb`: a ready strategy class (``Naive`` + the plugin).

The memory is trained with an augmentation, as the benchmark's continual suite trains its memories:
``augmentation="dsa"`` (default; per-sample DSA of the data's families), ``None``, or any callable
applied to each memory image (C, H, W). The scenario's own transforms are not applied: they expect
the scenario's raw items, while the memory holds tensors. Strategies' caches (feature networks,
experts) go to a temporary folder unless ``cache_root`` is given. The buffers' learned lrs (TM,
SPEED) are kept in ``buffers`` and ``learned_lrs`` but not applied: the avalanche strategy's
optimizer sets the lr, as in the continual suite (decision 6).

Soft labels (docs/soft-labels.md): where a buffer carries them, the memory keeps a target row per
item, joined over the classes seen as the continual suite joins its steps, and its dataset's items
become (x, y, targets, task label). On such a memory the GDumb routes and :func:`distilled_replay`
train the memory's items with the suite's soft-label loss (:class:`MemoryCriterion` stands in for the
strategy's criterion, which must average over rows, while it trains); on the replay route the
experience's own items carry a targets row flagged as hard, so replay batches keep one item shape and
those rows train with the strategy's criterion. A plain ``ReplayPlugin`` given a ``DistilledBuffer``
replays the memory with its hard labels, and a warning says so.

This module imports avalanche (slow); nothing in ``benchmark`` imports it at start-up.
"""

from __future__ import annotations

import copy
import shutil
import tempfile
import warnings
import weakref
from collections import defaultdict
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch
import torch.nn.functional as F

from benchmark.augment.dsa import DSA
from benchmark.buffer import Buffer, SoftLabels
from benchmark.data.classdata import ClassData, Split
from benchmark.engine.buffers import fit_buffer
from benchmark.engine.plan import fit_plan
from benchmark.errors import UserInputError, first_line
from benchmark.seeding import derive_seed
from benchmark.seeding import generator as make_generator
from benchmark.spec import parse_spec
from benchmark.strategy import FitContext, ResolvedSpec, resolve
from benchmark.training.evaluate import soft_label_loss
from benchmark.training.job import TrainingSet, joined_soft_labels

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # avalanche warns about optional solvers it does not need
    from avalanche.benchmarks.utils import TaskAwareSupervisedClassificationDataset
    from avalanche.benchmarks.utils.data_attribute import DataAttribute
    from avalanche.benchmarks.utils.transform_groups import TransformGroups
    from avalanche.core import SupervisedPlugin
    from avalanche.training.plugins import ReplayPlugin
    from avalanche.training.storage_policy import ExemplarsBuffer
    from avalanche.training.templates import SupervisedTemplate

if TYPE_CHECKING:
    from avalanche.benchmarks import CLExperience


def check_memory_arguments(profile: str, seed: int, mean, std, dsa: str | None) -> None:
    """The CLI's rules for the memory's arguments, at construction (not when the memory is first used)."""
    import math

    from benchmark.augment.dsa import check_setting
    from benchmark.options import SEED_MAX, check_range
    from benchmark.profiles import load_profile

    load_profile(profile)  # an unknown name: one line with did-you-mean
    if not isinstance(seed, int) or isinstance(seed, bool):
        raise UserInputError(f"seed={seed!r}: an integer between 0 and {SEED_MAX} is expected")
    check_range("seed", seed, 0, SEED_MAX)
    if (mean is None) != (std is None):
        raise UserInputError("give mean and std together (one value per channel each), or neither")
    if mean is not None:
        numbers = all(isinstance(v, int | float) and math.isfinite(v) for v in [*mean, *std])
        if not numbers or len(mean) != len(std) or any(v <= 0 for v in std):
            raise UserInputError(
                f"mean={mean!r}, std={std!r}: one finite value per channel each, every std positive"
            )
    if dsa is not None:
        check_setting(dsa)


class DistilledMemory:
    """The memory a registered strategy builds, one buffer per training experience.

    :param strategy: a strategy spec, e.g. ``"random"``, ``"herding"``, ``"dm:iterations=10"``.
    :param ipc: images per class of each experience's budget.
    :param dataset: dataset name the strategy's presets are looked up for (decision 9).
    :param profile: the presets' profile (``quick`` or ``paper``).
    :param seed: base seed; experience ``t`` uses a seed derived from (seed, t).
    :param augmentation: ``"dsa"``, None, or a callable applied to each memory image when training.
    :param cache_root: where strategies keep their caches; None: a temporary folder (removed when
        the memory is); nothing is written to the working directory.
    :param mean, std: per-channel normalisation that produced the images; None: 0 and 1.
    :param num_classes: output size of the network; None: the largest label seen so far + 1.
    :param dsa: DSA families the strategy and ``augmentation="dsa"`` use; None: ClassData's default.
    """

    def __init__(
        self,
        strategy: str,
        ipc: int,
        dataset: str = "custom",
        profile: str = "quick",
        seed: int = 0,
        augmentation: str | Callable[[torch.Tensor], torch.Tensor] | None = "dsa",
        cache_root: str | Path | None = None,
        mean: tuple[float, ...] | None = None,
        std: tuple[float, ...] | None = None,
        num_classes: int | None = None,
        dsa: str | None = None,
        show_progress: bool = False,
    ):
        if not isinstance(ipc, int) or isinstance(ipc, bool) or ipc <= 0:
            raise UserInputError(f"ipc must be a positive integer, got {ipc!r}; use e.g. ipc=10")
        if not (augmentation in ("dsa", None) or callable(augmentation)):
            raise UserInputError(f"augmentation={augmentation!r}: use 'dsa', None or a callable on one image")
        check_memory_arguments(profile, seed, mean, std, dsa)
        self.spec = parse_spec(strategy)
        # resolved for every class now, to refuse a bad spec early; each experience resolves its own
        self.resolved: ResolvedSpec = resolve(self.spec, profile, dataset, ipc)
        if not self.resolved.strategy.budgeted:
            raise UserInputError(
                f"strategy {self.resolved.name!r} is unbudgeted and cannot build a memory; "
                "choose a budgeted strategy such as random, herding or dm"
            )
        self.ipc, self.dataset_name, self.profile, self.seed = ipc, dataset, profile, seed
        self.mean, self.std, self.num_classes, self.dsa = mean, std, num_classes, dsa
        self.show_progress = show_progress
        if cache_root is None:
            cache_root = tempfile.mkdtemp(prefix="distill-benchmark-cache-")
            weakref.finalize(self, shutil.rmtree, cache_root, True)
        self.cache_root = Path(cache_root)
        self.buffers: list[Buffer] = []
        self.images: torch.Tensor | None = None
        self.labels = torch.empty(0, dtype=torch.long)
        self.task_labels = torch.empty(0, dtype=torch.long)
        # one row per item where a buffer carried soft labels (probabilities at their temperature)
        self.soft_labels: SoftLabels | None = None
        self._max_label = -1
        self._augment = self._augmentation(augmentation)

    @property
    def learned_lrs(self) -> list[float | None]:
        return [buffer.learned_lr for buffer in self.buffers]

    def add_experience(
        self, dataset, device: torch.device, ipc_for: Callable[[int], int] | None = None
    ) -> Buffer:
        """Fit the strategy, resolved for the experience's classes, on the experience's dataset (its
        eval transforms) and grow the memory. ``ipc_for(classes seen)`` sets this experience's images
        per class (default: ``ipc``)."""
        images, labels, task_labels = experience_tensors(dataset)
        data = self.class_data(images, labels)
        seen = len(set(self.labels.tolist()) | set(data.classes))
        ipc = ipc_for(seen) if ipc_for is not None else self.ipc
        counts = {c: len(data.train.class_indices(c)) for c in data.classes}
        smallest = min(counts, key=counts.get)
        if counts[smallest] < ipc:  # as the command line refuses it: no balanced buffer can be made
            raise UserInputError(
                f"ipc {ipc} is more than the {counts[smallest]} images of class {smallest} in this "
                f"experience; give each class at least {ipc} images or lower ipc"
            )
        seed = derive_seed("avalanche-memory", self.seed, len(self.buffers))
        context = FitContext(
            device=device, cache_root=self.cache_root, profile=self.profile, show_progress=self.show_progress
        )
        resolved = resolve(
            self.spec, self.profile, self.dataset_name, ipc, len(data.classes), self.resolved.strategy
        )
        try:
            buffer = fit_buffer(fit_plan(data, resolved, ipc, seed), context, experience=len(self.buffers))
        except RuntimeError as error:  # e.g. a network too deep for the experience's image size
            side = "×".join(map(str, data.image_shape[1:]))
            raise UserInputError(
                f"{resolved.canonical} could not be fitted to this experience's {side} images: "
                f"{first_line(error)}"
            ) from error
        memory_images, memory_labels, _ = buffer.materialize("cpu")
        soft_labels = joined_soft_labels([  # refuses a second temperature before the memory changes
            TrainingSet(memory_images[:0], self.labels, soft_labels=self.soft_labels),
            TrainingSet(memory_images, memory_labels, soft_labels=buffer.soft_labels),
        ])  # fmt: skip
        self.buffers.append(buffer)
        self._append(memory_images, memory_labels, int(task_labels[0]) if len(task_labels) else 0)
        self.soft_labels = soft_labels
        return buffer

    def class_data(self, images: torch.Tensor, labels: torch.Tensor) -> ClassData:
        """One experience's training data as a ClassData holding only its classes (no val/test)."""
        if images.ndim != 4:
            raise UserInputError(
                f"the experience's images have shape {tuple(images.shape)}; the memory needs image "
                "tensors of shape (C, H, W) per item (add a ToTensor transform)"
            )
        classes = sorted(int(c) for c in labels.unique())
        if classes[0] < 0:
            raise UserInputError(f"the experience holds label {classes[0]}; class ids must be 0 or more")
        if self.images is not None and tuple(images.shape[1:]) != tuple(self.images.shape[1:]):
            raise UserInputError(
                f"the experience's images are {tuple(images.shape[1:])}, the memory's "
                f"{tuple(self.images.shape[1:])}; every experience needs images of one shape"
            )
        channels = images.shape[1]
        for name, values in (("mean", self.mean), ("std", self.std)):
            if values is not None and len(values) != channels:
                raise UserInputError(
                    f"{name} has {len(values)} values but the images have {channels} channel"
                    f"{'s' if channels > 1 else ''}; give one value per channel"
                )
        self._max_label = max(self._max_label, classes[-1])
        num_classes = self.num_classes if self.num_classes is not None else self._max_label + 1
        if self._max_label >= num_classes:
            raise UserInputError(
                f"label {self._max_label} does not fit num_classes={num_classes}; "
                "pass a larger num_classes or leave it None"
            )
        empty = Split(images[:0], labels[:0])
        extra = {"augmentation": self.dsa} if self.dsa is not None else {}
        return ClassData(
            name=self.dataset_name,
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

    def dataset(self, soft_labels: bool = True) -> TaskAwareSupervisedClassificationDataset:
        """The memory as an avalanche dataset of (x, y, task label) items, or (x, y, targets, task
        label) where the memory holds soft labels and ``soft_labels`` is true: targets are probabilities
        over classes 0 … the largest label seen. Its ``train`` group applies the augmentation (to x
        only), its ``eval`` group none."""
        if self.images is None:
            raise RuntimeError("the memory is empty until the first training experience")
        tensors = [self.images, self.labels]
        if soft_labels and self.soft_labels is not None:
            tensors.append(self.soft_labels.targets(self.target_width))
        items = torch.utils.data.TensorDataset(*tensors)
        return TaskAwareSupervisedClassificationDataset(
            [items],
            data_attributes=[
                DataAttribute(self.labels.tolist(), "targets"),
                DataAttribute(self.task_labels.tolist(), "targets_task_labels", use_in_getitem=True),
            ],
            transform_groups=TransformGroups({"train": (self._augment, None), "eval": (None, None)}),
        )

    @property
    def target_width(self) -> int:
        """The columns of a target row: classes 0 … the largest label seen."""
        return self._max_label + 1

    @property
    def classes_seen(self) -> int:
        return len(set(self.labels.tolist()))

    def keep_per_class(self, per_class: int) -> None:
        """Keep the first ``per_class`` images of each class in the memory (``buffers`` stay as fitted)."""
        if self.images is None:
            return
        keep = torch.zeros(len(self.labels), dtype=torch.bool)
        for c in self.labels.unique():
            keep[torch.nonzero(self.labels == c).flatten()[:per_class]] = True
        self.images, self.labels = self.images[keep], self.labels[keep]
        self.task_labels = self.task_labels[keep]
        if self.soft_labels is not None:
            self.soft_labels = replace(self.soft_labels, values=self.soft_labels.values[keep])

    def _augmentation(self, augmentation):
        if augmentation != "dsa":
            return augmentation
        rng = make_generator(derive_seed("avalanche-memory-dsa", self.seed))

        def dsa_per_item(image: torch.Tensor) -> torch.Tensor:
            families = self.dsa or ClassData.__dataclass_fields__["augmentation"].default
            return DSA(families)(image.unsqueeze(0), rng)[0]

        return dsa_per_item

    def _append(self, images: torch.Tensor, labels: torch.Tensor, task_label: int) -> None:
        images, labels = images.detach().cpu(), labels.detach().cpu().long()
        self.images = images if self.images is None else torch.cat([self.images, images])
        self.labels = torch.cat([self.labels, labels])
        self.task_labels = torch.cat([self.task_labels, torch.full_like(labels, task_label)])


class DistilledMemoryPlugin(SupervisedPlugin):
    """GDumb with a memory produced by a registered strategy from each experience's data (see
    :class:`DistilledMemory` for the arguments). The model restarts from its initial weights at every
    experience and trains on the augmented memory only."""

    def __init__(self, strategy: str, ipc: int, device: str | torch.device | None = None, **memory: Any):
        super().__init__()
        self.memory = DistilledMemory(strategy, ipc, **memory)
        self.device = device
        self._init_model: torch.nn.Module | None = None

    # what the memory holds, for inspection
    @property
    def buffers(self) -> list[Buffer]:
        return self.memory.buffers

    @property
    def memory_images(self) -> torch.Tensor | None:
        return self.memory.images

    @property
    def memory_labels(self) -> torch.Tensor:
        return self.memory.labels

    def before_train_dataset_adaptation(self, strategy: SupervisedTemplate, **kwargs: Any) -> None:
        """Keep the initial model at the first experience; reset to it at every later one."""
        if self._init_model is None:
            self._init_model = copy.deepcopy(strategy.model)
        else:
            _reset_model(strategy, self._init_model)
        strategy.model_adaptation(self._init_model)

    def before_eval_dataset_adaptation(self, strategy: SupervisedTemplate, **kwargs: Any) -> None:
        # As GDumbPlugin: dynamic modules of the kept initial model grow with the stream too.
        if self._init_model is not None:
            strategy.model_adaptation(self._init_model)

    def before_training(self, strategy: SupervisedTemplate, **kwargs: Any) -> None:
        """The strategy's own criterion, should an earlier training have raised inside an experience."""
        restore_criterion(strategy)

    def after_train_dataset_adaptation(self, strategy: SupervisedTemplate, **kwargs: Any) -> None:
        """Fit the strategy on this experience, grow the memory, train on the memory only (with the
        soft-label loss where the memory holds soft labels)."""
        device = torch.device(self.device if self.device is not None else strategy.device)
        self.memory.add_experience(strategy.experience.dataset, device)
        strategy.adapted_dataset = self.memory.dataset().train()
        if self.memory.soft_labels is not None:
            use_memory_criterion(strategy, self.memory.soft_labels.temperature)

    def after_training_exp(self, strategy: SupervisedTemplate, **kwargs: Any) -> None:
        """The strategy's own criterion again, for what runs between experiences."""
        restore_criterion(strategy)


def use_memory_criterion(strategy: SupervisedTemplate, temperature: float) -> None:
    """:class:`MemoryCriterion` in place of the strategy's criterion for the current experience."""
    restore_criterion(strategy)
    strategy._criterion = MemoryCriterion(strategy, strategy._criterion, temperature)


def restore_criterion(strategy: SupervisedTemplate) -> None:
    """The strategy's own criterion again."""
    if isinstance(strategy._criterion, MemoryCriterion):
        strategy._criterion = strategy._criterion.criterion


class MemoryCriterion:
    """Stands in for an avalanche strategy's ``criterion`` while it trains on a soft-label memory:
    on the strategy's own training batch of (x, y, targets, task label) items (the call its
    ``criterion()`` makes, with the batch's class ids) in the experience current when it was built,
    ``soft_label_loss`` at ``temperature`` (T² · KL, the suite's recipe), the targets padded with
    probability 0 to the model's outputs. Any other call (an evaluation's, or a plugin's on outputs
    and labels of its own, as EWC's importances or GEM's memory gradients) gets the strategy's own
    ``criterion``.

    Rows whose targets are NaN (:class:`HardTargets`: the experience's items in a replay batch) take
    the strategy's ``criterion`` on their class ids; a batch mixing both gets the row-weighted mean of
    the two losses, each a mean over its rows: the criterion must average over rows, so one with
    ``reduction`` other than "mean" or a class-weighted ``CrossEntropyLoss`` is refused."""

    def __init__(self, strategy: SupervisedTemplate, criterion: Callable, temperature: float):
        reduction = getattr(criterion, "reduction", "mean")
        if reduction != "mean":
            raise UserInputError(
                f"the strategy's criterion has reduction={reduction!r}; a soft-label memory mixes its loss "
                "with the criterion's mean over rows: give the criterion reduction='mean'"
            )
        if isinstance(criterion, torch.nn.CrossEntropyLoss) and criterion.weight is not None:
            raise UserInputError(
                "the strategy's CrossEntropyLoss has class weights, which a soft-label memory's loss cannot "
                "apply: train it with CrossEntropyLoss() without weight"
            )
        self.strategy, self.criterion, self.temperature = strategy, criterion, temperature
        self.experience = strategy.experience

    def __call__(self, outputs: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        strategy, batch = self.strategy, self.strategy.mbatch
        own_batch = batch is not None and len(batch) == 4 and labels is batch[1]
        if not (strategy.is_training and strategy.experience is self.experience and own_batch):
            return self.criterion(outputs, labels)
        targets = batch[2]
        missing = outputs.shape[1] - targets.shape[1]
        if missing < 0:
            raise UserInputError(
                f"the model has {outputs.shape[1]} outputs but the memory's soft labels cover classes "
                f"0 … {targets.shape[1] - 1}; give the model an output per class"
            )
        hard = targets.isnan().any(1)
        if not hard.any():
            return soft_label_loss(outputs, F.pad(targets, (0, missing)), self.temperature)
        soft = ~hard
        loss = self.criterion(outputs[hard], labels[hard]) * int(hard.sum())
        if soft.any():
            memory = soft_label_loss(outputs[soft], F.pad(targets[soft], (0, missing)), self.temperature)
            loss = loss + memory * int(soft.sum())
        return loss / len(labels)


class HardTargets(torch.utils.data.Dataset):
    """An avalanche dataset's items (x, y, task label) as (x, y, targets row) with the row all NaN:
    the flag :class:`MemoryCriterion` reads as "train with the strategy's criterion on y". Wrapped by
    :func:`flagged_as_hard`, which appends the task label again."""

    def __init__(self, dataset, width: int):
        self.dataset, self.row = dataset, torch.full((width,), float("nan"))

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, index: int) -> tuple:
        *item, _task_label = self.dataset[index]
        return (*item, self.row)


def flagged_as_hard(dataset, width: int) -> TaskAwareSupervisedClassificationDataset:
    """``dataset``'s items as (x, y, NaN targets row, task label), its items transformed as it transforms
    them; its ``targets`` and task labels stay data attributes (class- and task-balanced sampling)."""
    return TaskAwareSupervisedClassificationDataset(
        [HardTargets(dataset, width)],
        data_attributes=[dataset.targets, dataset.targets_task_labels],
        collate_fn=dataset.collate_fn,
    )


class DistilledBuffer(ExemplarsBuffer):
    """A storage policy whose buffer is the memory a registered strategy builds (see
    :class:`DistilledMemory` for the other arguments), holding at most ``max_size`` images (what
    avalanche's ``ReplayPlugin`` calls ``mem_size``; it must be the same number there, or use
    :func:`distilled_replay`).

    Images per class, as avalanche's class-balanced buffer sizes them:

    - default: ``max_size // classes seen`` at each experience; the new classes' buffer is fitted
      with that budget and earlier classes keep their first that many images (for a selection such as
      herding its first picks; for a distilled buffer a subset of a set fitted for a larger budget);
    - ``num_classes`` (the classes of the whole stream): ``max_size // num_classes`` from the start,
      so nothing is ever cut;
    - ``ipc`` with ``num_classes``: that many, when ``ipc × num_classes ≤ max_size``.

    ``resize`` changes ``max_size`` and cuts the memory to it the same way.

    ``buffer`` holds (x, y, task label) items, what a plain ``ReplayPlugin`` mixes with the experience's;
    inside :class:`DistilledReplayPlugin` (set by it) a soft-label memory's items carry their targets,
    so a policy given to that plugin is its own: share it with no other plugin.
    """

    def __init__(self, max_size: int, strategy: str, ipc: int | None = None, *,
                 num_classes: int | None = None, device: str | torch.device | None = None,
                 **memory: Any):  # fmt: skip
        check_memory_size(max_size, ipc, num_classes)
        super().__init__(max_size)
        self.memory = DistilledMemory(strategy, ipc or 1, num_classes=num_classes, **memory)
        self.ipc, self.num_classes, self.device = ipc, num_classes, device
        self.replays_soft_labels = False

    def images_per_class(self, classes_seen: int) -> int:
        """The images each class may hold with ``classes_seen`` classes in the memory."""
        if self.ipc is not None:
            return self.ipc
        divisor = self.num_classes or classes_seen
        if self.max_size < divisor:
            raise UserInputError(
                f"max_size={self.max_size} holds less than one image for each of {divisor} classes; "
                f"choose max_size ≥ {divisor} (avalanche's mem_size)"
            )
        return self.max_size // divisor

    def post_adapt(self, agent_state, exp: CLExperience) -> None:
        device = torch.device(
            self.device if self.device is not None else getattr(agent_state, "device", "cpu")
        )
        buffer = self.memory.add_experience(exp.dataset, device, self.images_per_class)
        if buffer.soft_labels is not None and not self.replays_soft_labels:
            warnings.warn(
                f"{buffer.manifest.get('spec', buffer.kind)}: a plain ReplayPlugin trains the memory on "
                "hard labels; its soft labels count but go unused (distilled_replay(mem_size, strategy, …) "
                "and DistilledMemoryPlugin train with them)",
                stacklevel=2,
            )
        self.memory.keep_per_class(self.images_per_class(self.memory.classes_seen))
        self.buffer = self.memory.dataset(soft_labels=self.replays_soft_labels)

    def update(self, strategy: Any, **kwargs: Any) -> None:
        """What ``ReplayPlugin`` calls after each experience (avalanche deprecates the inherited one)."""
        self.post_adapt(strategy, strategy.experience)

    def resize(self, strategy: Any, new_size: int) -> None:
        check_memory_size(new_size, self.ipc, self.num_classes)
        self.max_size = new_size
        if self.memory.images is not None:
            self.memory.keep_per_class(self.images_per_class(self.memory.classes_seen))
            self.buffer = self.memory.dataset(soft_labels=self.replays_soft_labels)


def check_memory_size(max_size: int, ipc: int | None, num_classes: int | None) -> None:
    """A memory size, and an ``ipc`` only where it is known to fit: one line saying how to choose."""
    if not isinstance(max_size, int) or isinstance(max_size, bool) or max_size < 0:
        raise UserInputError(f"max_size={max_size!r}: a memory size is an integer ≥ 0")
    if num_classes is not None and (not isinstance(num_classes, int) or isinstance(num_classes, bool)
                                    or num_classes < 1):  # fmt: skip
        raise UserInputError(f"num_classes={num_classes!r}: the classes of the stream, an integer ≥ 1")
    if ipc is None:
        return
    if num_classes is None:
        raise UserInputError(
            f"ipc={ipc!r} fixes the images per class, so the memory's size depends on every class of the "
            "stream: pass num_classes too (ipc × num_classes ≤ max_size), or leave ipc out to derive it "
            "from max_size and the classes seen"
        )
    if not isinstance(ipc, int) or isinstance(ipc, bool) or ipc <= 0:
        raise UserInputError(f"ipc must be a positive integer, got {ipc!r}; or leave it out")
    if ipc * num_classes > max_size:
        raise UserInputError(
            f"ipc={ipc} × num_classes={num_classes} = {ipc * num_classes} images exceed max_size={max_size} "
            f"(avalanche's mem_size); choose ipc ≤ {max_size // num_classes}, or leave ipc out"
        )


class DistilledReplayPlugin(ReplayPlugin):
    """``ReplayPlugin`` over a :class:`DistilledBuffer` (its ``max_size`` is ``mem_size``; ``replay``
    takes ReplayPlugin's other arguments) that trains a soft-label memory with the soft-label loss.

    Where the memory holds soft labels, each training experience's replay batches are built from the
    experience's items flagged as hard (:func:`flagged_as_hard`) and the memory's (x, y, targets, task
    label) items, and :class:`MemoryCriterion` stands in for the strategy's criterion until the
    experience ends. A hard-label memory replays exactly as with ``ReplayPlugin``.

    The plugin owns its policy (it makes the policy's ``buffer`` yield targets): share the policy with
    no other plugin."""

    def __init__(self, storage_policy: DistilledBuffer, **replay: Any):
        if not isinstance(storage_policy, DistilledBuffer):
            raise UserInputError(
                f"storage_policy is a {type(storage_policy).__name__}; DistilledReplayPlugin replays a "
                "DistilledBuffer (use avalanche's ReplayPlugin for other policies)"
            )
        storage_policy.replays_soft_labels = True
        super().__init__(mem_size=storage_policy.max_size, storage_policy=storage_policy, **replay)

    def before_training(self, strategy: SupervisedTemplate, **kwargs: Any) -> None:
        """The strategy's own criterion, should an earlier training have raised inside an experience."""
        restore_criterion(strategy)
        super().before_training(strategy, **kwargs)

    def before_training_exp(self, strategy: SupervisedTemplate, **kwargs: Any) -> None:
        memory = self.storage_policy.memory
        if memory.soft_labels is None or len(self.storage_policy.buffer) == 0:
            super().before_training_exp(strategy, **kwargs)
            return
        # the memory's items with their targets, whenever the policy last built its buffer
        self.storage_policy.buffer = memory.dataset(soft_labels=True)
        # ReplayPlugin builds its loader from strategy.adapted_dataset; other plugins keep the original
        experience = strategy.adapted_dataset
        strategy.adapted_dataset = flagged_as_hard(experience, memory.target_width)
        try:
            super().before_training_exp(strategy, **kwargs)
        finally:
            strategy.adapted_dataset = experience
        use_memory_criterion(strategy, memory.soft_labels.temperature)

    def after_training_exp(self, strategy: SupervisedTemplate, **kwargs: Any) -> None:
        """The strategy's own criterion again, then the memory grows (ReplayPlugin's update)."""
        restore_criterion(strategy)
        super().after_training_exp(strategy, **kwargs)


def distilled_replay(mem_size: int, strategy: str, **buffer: Any) -> DistilledReplayPlugin:
    """``DistilledReplayPlugin(DistilledBuffer(mem_size, strategy, …))``: avalanche's replay with one
    size for the plugin and the policy, training a soft-label memory with the soft-label loss."""
    return DistilledReplayPlugin(DistilledBuffer(mem_size, strategy, **buffer))


class DistilledGDumb(SupervisedTemplate):
    """GDumb with a distilled memory as a strategy class: ``Naive`` with a
    :class:`DistilledMemoryPlugin`. ``memory`` takes :class:`DistilledMemory`'s arguments; every
    argument is a keyword, as avalanche's strategy constructors take them."""

    def __init__(self, *, model, optimizer, criterion, strategy: str, ipc: int, plugins=None, memory=None,
                 **template: Any):  # fmt: skip
        self.memory_plugin = DistilledMemoryPlugin(strategy, ipc, **(memory or {}))
        super().__init__(
            model=model, optimizer=optimizer, criterion=criterion,
            plugins=[self.memory_plugin, *(plugins or [])], **template,
        )  # fmt: skip


def _reset_model(strategy: SupervisedTemplate, initial: torch.nn.Module) -> None:
    """Initial weights in place (the optimizer keeps its parameters, loses its state); a model whose
    shapes changed (dynamic modules) is replaced by a copy of the initial one instead."""
    state, current = initial.state_dict(), strategy.model.state_dict()
    same = state.keys() == current.keys() and all(state[k].shape == current[k].shape for k in state)
    if same:
        strategy.model.load_state_dict(state)
        strategy.model.train()
    else:
        strategy.model = copy.deepcopy(initial)
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
        label = torch.as_tensor(batch[1])
        if label.is_floating_point() and not torch.equal(label, label.round()):
            raise UserInputError(
                f"the experience's labels hold fractions (e.g. {label[label != label.round()][0].item():g}); "
                "the memory needs integer class ids"
            )
        labels.append(label.long())
        tasks.append(torch.as_tensor(batch[2]).long() if len(batch) > 2 else torch.zeros_like(labels[-1]))
    return torch.cat(images), torch.cat(labels), torch.cat(tasks)


__all__ = [
    "DistilledBuffer",
    "distilled_replay",
    "DistilledGDumb",
    "DistilledMemory",
    "DistilledMemoryPlugin",
    "DistilledReplayPlugin",
    "experience_tensors",
    "flagged_as_hard",
    "HardTargets",
    "MemoryCriterion",
]
