"""Storage budgets in float32-equivalents (decisions 2 and 3).

Budget = ipc × classes × C×H×W at the dataset's native resolution. A buffer's storage is the byte
size of what it actually stores / 4 (uint8 0.25, float16 0.5, float32 1). One learned scalar lr is
exempt; class-balanced hard labels are implied by the manifest and not stored. Soft labels are
stored (a label vector per image), so they count: a method fits images and labels together.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

from benchmark.errors import BudgetExceededError, UserInputError

if TYPE_CHECKING:  # torch stays unimported so planners and the CLI start fast
    import torch


@dataclass(frozen=True)
class Budget:
    ipc: int
    num_classes: int  # classes the buffer covers (a continual step: that step's classes)
    image_shape: tuple[int, int, int]

    def __post_init__(self) -> None:
        if not isinstance(self.ipc, int) or self.ipc <= 0:
            raise UserInputError(f"ipc must be a positive integer, got {self.ipc!r}; use e.g. --ipc 1,10")

    @property
    def floats_per_image(self) -> int:
        return math.prod(self.image_shape)

    @property
    def floats(self) -> int:
        return self.ipc * self.num_classes * self.floats_per_image

    def images_per_class_with_soft_labels(self, image_value: float = 1.0, label_value: float = 1.0) -> int:
        """Images per class that fit when each image also stores a label vector over the classes;
        ``image_value``/``label_value``: float32-equivalents per stored value (float16 0.5)."""
        per_image = self.floats_per_image * image_value + self.num_classes * label_value
        return math.floor(self.floats / (self.num_classes * per_image))


def tensor_storage(tensor: torch.Tensor) -> float:
    """float32-equivalents of one stored tensor: its byte size / 4."""
    return tensor.numel() * tensor.element_size() / 4


def check_budget(storage: float, budget: Budget, strategy: str) -> None:
    if storage > budget.floats:
        raise BudgetExceededError(
            f"strategy {strategy!r} stores {storage:g} float32-equivalents but the budget of ipc "
            f"{budget.ipc} × {budget.num_classes} classes × {budget.floats_per_image} is "
            f"{budget.floats}; reduce the stored size (e.g. fewer images per class)",
            storage=storage,
        )
