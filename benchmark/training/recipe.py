"""Evaluation recipes: how a fresh network is trained on a buffer (decision 5)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from benchmark.augment.dsa import DEFAULT_STRATEGY
from benchmark.errors import UserInputError

PRECISIONS = ("fp32", "bf16")


@dataclass(frozen=True)
class EvalRecipe:
    """SGD with momentum, lr × 0.1 at half the epochs (optimizer re-created), per-sample DSA.

    ``lr`` is the network's recipe lr, used when the buffer carries no learned lr or when
    ``use_buffer_lr`` is false (the continual suite, decision 6).
    """

    epochs: int = 1000
    lr: float = 0.01
    batch_size: int = 256
    momentum: float = 0.9
    weight_decay: float = 5e-4
    dsa: str | None = DEFAULT_STRATEGY  # "auto": the dataset's own DSA strategy
    use_buffer_lr: bool = True
    name: str = "dsa"
    # Options of the evaluation network (e.g. {"width": 32}); part of the recipe, so recorded.
    network_options: dict = field(default_factory=dict)
    # Test images per class (seeded subset, 0 = the whole test split).
    test_subset: int = 0
    # Each batch standardised by its own mean and std before the network, train and test (the SPEED
    # and HaBa codes' evaluation; only in their ``--eval-recipe original``, decision 13).
    standardize: bool = False
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

    def learning_rate(self, buffer_lr: float | None) -> float:
        return float(buffer_lr) if (self.use_buffer_lr and buffer_lr is not None) else self.lr

    def describe(self) -> dict:
        return asdict(self)
