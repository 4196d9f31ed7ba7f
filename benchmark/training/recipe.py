"""Evaluation recipes: how a fresh network is trained on a buffer (decision 5)."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

from benchmark.augment.dsa import DEFAULT_FAMILIES
from benchmark.errors import UserInputError

PRECISIONS = ("fp32", "bf16")
SCHEDULES = ("default", "published")
# Fields added after records were first written: described only where they differ from their default,
# so the records of recipes that leave them alone keep their keys.
DESCRIBED_WHEN_SET = ("schedule", "test_batch_size")
# (field, smallest value, type) of the recipe's numbers
NUMBERS = (
    ("epochs", 1, int), ("lr", 0, (int, float)), ("batch_size", 1, int), ("momentum", 0, (int, float)),
    ("weight_decay", 0, (int, float)), ("test_subset", 0, int),
)  # fmt: skip


@dataclass(frozen=True)
class EvalRecipe:
    """SGD with momentum, lr × 0.1 at half the epochs (optimizer re-created), per-sample DSA.

    ``lr`` is the network's recipe lr, used when the buffer carries no learned lr or when
    ``use_buffer_lr`` is false (the continual suite, decision 6). ``schedule`` ``default`` trains
    ``epochs`` passes, the lr dropping before pass ``epochs // 2``; ``published`` is the loop of the
    DC/DSA/DM/MTT/HaBa/SPEED codes' ``evaluate_synset``: ``epochs + 1`` passes, the lr dropping after
    pass ``epochs // 2 + 1`` (0-indexed), test accuracy after the last (docs/evaluation.md).
    """

    epochs: int = 1000
    lr: float = 0.01
    batch_size: int = 256
    momentum: float = 0.9
    weight_decay: float = 5e-4
    dsa: str | None = DEFAULT_FAMILIES  # "auto": the dataset's own DSA families
    use_buffer_lr: bool = True
    name: str = "dsa"
    # Options of the evaluation network (e.g. {"width": 32}); part of the recipe, so recorded.
    network_options: dict = field(default_factory=dict)
    # Test images per class (seeded subset, 0 = the whole test split).
    test_subset: int = 0
    # Each batch standardised by its own mean and std: training batches before the DSA draw, test
    # batches before the network (the SPEED and HaBa codes' evaluation; only in their
    # ``--eval-recipe original``, decision 13).
    standardize: bool = False
    schedule: str = "default"
    # Test images per forward pass; with ``standardize`` also the images each standardisation spans.
    test_batch_size: int = 1000
    # fp32 (default) or bf16: forward passes under bfloat16 autocast, an explicit, recorded choice.
    precision: str = "fp32"

    @classmethod
    def from_settings(cls, settings: dict) -> EvalRecipe:
        """A recipe from a profile's table; unknown keys are errors naming the accepted ones."""
        accepted = set(cls.__dataclass_fields__)
        unknown = sorted(set(settings) - accepted)
        if unknown:
            raise UserInputError(
                f"unknown evaluation recipe keys {unknown}; accepted: {', '.join(sorted(accepted))}"
            )
        return cls(**settings)

    def __post_init__(self) -> None:
        if self.precision not in PRECISIONS:
            raise UserInputError(f"precision {self.precision!r}: choose one of {', '.join(PRECISIONS)}")
        if self.schedule not in SCHEDULES:
            raise UserInputError(f"schedule {self.schedule!r}: choose one of {', '.join(SCHEDULES)}")
        if not isinstance(self.test_batch_size, int) or self.test_batch_size < 1:
            raise UserInputError(f"test_batch_size {self.test_batch_size!r}: give an integer ≥ 1")
        for name, low, kinds in NUMBERS:  # before any work: epochs = -1 would "train" nothing
            value = getattr(self, name)
            if not isinstance(value, kinds) or isinstance(value, bool) or not low <= value < math.inf:
                kind = "an integer" if kinds is int else "a number"
                raise UserInputError(f"evaluation recipe {name} = {value!r}: give {kind} ≥ {low}")

    def lr_schedule(self) -> tuple[int, int]:
        """(training passes, the pass before which the lr drops × 0.1; 0 or ≥ the passes: none)."""
        if self.schedule == "published":
            return self.epochs + 1, self.epochs // 2 + 2
        return self.epochs, self.epochs // 2

    def learning_rate(self, buffer_lr: float | None) -> float:
        return float(buffer_lr) if (self.use_buffer_lr and buffer_lr is not None) else self.lr

    def describe(self) -> dict:
        described = asdict(self)
        for name in DESCRIBED_WHEN_SET:
            if described[name] == self.__dataclass_fields__[name].default:
                del described[name]
        return described
