"""Evaluation recipes: how a fresh network is trained on a buffer (decision 5)."""

from __future__ import annotations

from dataclasses import asdict, dataclass

from benchmark.augment.dsa import DEFAULT_STRATEGY


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
    dsa: str | None = DEFAULT_STRATEGY
    use_buffer_lr: bool = True
    name: str = "dsa"

    def learning_rate(self, buffer_lr: float | None) -> float:
        return float(buffer_lr) if (self.use_buffer_lr and buffer_lr is not None) else self.lr

    def describe(self) -> dict:
        return asdict(self)
