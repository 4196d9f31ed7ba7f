"""``torch.compile`` for evaluation training (``--compile auto|on|off``; docs/performance.md).

Inductor fuses the memory-bound layers (instance norm, ReLU, pooling) that keep an eager ConvNet
step well below the matmul peak (docs/performance.md has the measured rates). Compilation costs
seconds to a minute per batch shape, so ``auto`` compiles only when the training is long enough to
repay it. Compiled and eager training agree to rounding (not bit for bit), like two thread counts.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable

import torch
import torch.nn as nn

from benchmark.errors import UserInputError

MODES = ("auto", "on", "off")
# ``auto`` compiles from this many training images seen (epochs × buffer images): about six minutes
# of eager ConvNet-128 training on 2 CPU cores, against well under a minute of compilation.
AUTO_MIN_IMAGE_PASSES = 100_000


def check_mode(mode: str) -> str:
    if mode not in MODES:
        raise UserInputError(f"unknown compile mode {mode!r}; choose one of {', '.join(MODES)}")
    return mode


def should_compile(mode: str, device: torch.device | str, epochs: int, images: int) -> bool:
    """``on``/``off`` as asked; ``auto``: on CPU, and only for long trainings (on CUDA the eager
    kernels are already fused enough that compilation rarely pays for an evaluation network)."""
    check_mode(mode)
    if mode != "auto":
        return mode == "on"
    return torch.device(device).type == "cpu" and epochs * images >= AUTO_MIN_IMAGE_PASSES


def training_forward(net: nn.Module, compile_it: bool) -> Callable[[torch.Tensor], torch.Tensor]:
    """The forward to train through: ``net`` itself, or a compiled view sharing its parameters.

    One static graph per batch shape (``dynamic=False``): an epoch has at most two (full batches and
    the remainder). If compilation fails (e.g. no C++ compiler), warn once and train eagerly; the
    failure happens in the first forward, before any parameter changed.
    """
    if not compile_it:
        return net
    compiled = torch.compile(net, dynamic=False)
    state = {"forward": compiled}

    def forward(x: torch.Tensor) -> torch.Tensor:
        try:
            return state["forward"](x)
        except Exception as error:  # noqa: BLE001 - any compiler failure falls back to eager
            if state["forward"] is net:
                raise
            warnings.warn(
                f"torch.compile failed ({type(error).__name__}: {error}); training eagerly", stacklevel=2
            )
            state["forward"] = net
            return net(x)

    return forward
