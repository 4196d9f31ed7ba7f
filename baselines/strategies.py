"""Pixel-space distillation strategies composed of a parameterization and an objective."""

from __future__ import annotations

from typing import Any

from benchmark.distill.strategy import DistillationStrategy


class DMStrategy(DistillationStrategy):
    """Distribution matching on pixels (Zhao & Bilen, WACV 2023)."""

    name = "dm"
    parameterization = "pixels"
    objective = "dm"

    @classmethod
    def presets(cls, profile: str, dataset: str, ipc: int, given: dict[str, Any]) -> dict[str, Any]:
        if profile == "paper":
            return {"iterations": 20000, "lr_img": 10.0 if ipc >= 100 else 1.0, "batch_real": 256}
        # quick: a narrow embedding network and few iterations fit 2 CPU cores (README states it).
        return {"iterations": 200, "batch_real": 64, "net_width": 32}
