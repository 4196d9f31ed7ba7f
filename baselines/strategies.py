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
        preset = super().presets(profile, dataset, ipc, given)
        if profile == "paper":
            return preset | {"iterations": 20000, "lr_img": 10.0 if ipc >= 100 else 1.0}
        return preset | {"iterations": 200}

    @classmethod
    def original_recipe(cls, config: dict[str, Any], dataset: str, ipc: int) -> dict[str, Any] | None:
        return {"preprocessing": "meanstd"}  # DM's code: mean/std, no ZCA


# ---- trajectory matching and gradient matching (PROTOCOL.md §2, §4) ------------------------------
# The objectives' own settings (syn_steps, experts, batch_real, loops, …) are their presets
# (baselines.tm / baselines.dc), shared with SPEED; the strategies add the images' and the loop's.

# PROTOCOL.md §4, CIFAR10 images' lr (published run commands; ZCA-whitened images at IPC 1 and 10).
TM_CIFAR10_LR_IMG = {1: 100.0, 10: 100.0, 50: 1000.0}


class TMStrategy(DistillationStrategy):
    """Trajectory matching on pixels (Cazenavette et al., CVPR 2022)."""

    name = "tm"
    parameterization = "pixels"
    objective = "tm"

    @classmethod
    def presets(cls, profile: str, dataset: str, ipc: int, given: dict[str, Any]) -> dict[str, Any]:
        preset = super().presets(profile, dataset, ipc, given) | {"momentum_img": 0.5}
        if profile == "paper":
            lr_img = TM_CIFAR10_LR_IMG.get(ipc, 1000.0) if dataset == "cifar10" else 1000.0
            return preset | {"iterations": 5000, "lr_img": lr_img}
        # quick: 150 iterations of 10 student steps on a narrow ConvNet (see baselines.tm presets).
        return preset | {"iterations": 150, "lr_img": 100.0}

    @classmethod
    def original_recipe(cls, config: dict[str, Any], dataset: str, ipc: int) -> dict[str, Any] | None:
        # MTT's published CIFAR10 IPC 50 run is the one without ZCA (PROTOCOL.md §4).
        return {"preprocessing": "meanstd"} if (dataset, ipc) == ("cifar10", 50) else None


def _gradient_matching_presets(profile: str, ipc: int) -> dict[str, Any]:
    from baselines.dc import loops_for_ipc

    common = {"lr_img": 0.1, "momentum_img": 0.5}
    if profile == "paper":
        # The loop's iterations count outer steps (one synthetic update each): 1000 × outer_loop.
        return common | {"iterations": 1000 * loops_for_ipc(ipc)[0]}
    return common | {"iterations": 200}


class DCStrategy(DistillationStrategy):
    """Gradient matching on pixels (Zhao et al., ICLR 2021)."""

    name = "dc"
    parameterization = "pixels"
    objective = "dc"

    @classmethod
    def presets(cls, profile: str, dataset: str, ipc: int, given: dict[str, Any]) -> dict[str, Any]:
        return super().presets(profile, dataset, ipc, given) | _gradient_matching_presets(profile, ipc)

    @classmethod
    def original_recipe(cls, config: dict[str, Any], dataset: str, ipc: int) -> dict[str, Any] | None:
        # DC's evaluation: no augmentation, 300 epochs, mean/std data
        return {"dsa": None, "epochs": 300, "preprocessing": "meanstd"}


class DSAStrategy(DistillationStrategy):
    """Gradient matching with Siamese augmentation on pixels (Zhao & Bilen, ICML 2021)."""

    name = "dsa"
    parameterization = "pixels"
    objective = "dsa"

    @classmethod
    def presets(cls, profile: str, dataset: str, ipc: int, given: dict[str, Any]) -> dict[str, Any]:
        return super().presets(profile, dataset, ipc, given) | _gradient_matching_presets(profile, ipc)

    @classmethod
    def original_recipe(cls, config: dict[str, Any], dataset: str, ipc: int) -> dict[str, Any] | None:
        # DSA's evaluation: DSA per sample, 1000 epochs, mean/std data
        return {"dsa": "auto", "epochs": 1000, "preprocessing": "meanstd"}


class HabaStrategy(DistillationStrategy):
    """HaBa: bases and hallucinators (Liu et al., NeurIPS 2022), TM by default, any objective allowed."""

    name = "haba"
    parameterization = "haba"
    objective = None
    default_objective = "tm"

    @classmethod
    def presets(cls, profile: str, dataset: str, ipc: int, given: dict[str, Any]) -> dict[str, Any]:
        preset = super().presets(profile, dataset, ipc, given)
        if cls.objective_name(given) == "tm":
            preset["momentum_lr"] = 0.9  # HaBa's code: α's SGD momentum (PROTOCOL.md §12)
        if profile == "paper":
            return preset | {"iterations": 5000}
        # quick: n × classes images per hallucinator draw; TM steps on 32 of them at a time.
        quick_tm = {"batch_syn": 32} if cls.objective_name(given) == "tm" else {}
        return preset | quick_tm | {"iterations": 100}

    @classmethod
    def original_recipe(cls, config: dict[str, Any], dataset: str, ipc: int) -> dict[str, Any] | None:
        return {"standardize": True}  # HaBa's code standardises every batch (PROTOCOL.md §12)
