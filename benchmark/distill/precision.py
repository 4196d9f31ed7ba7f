"""The distillation precision (``--distill-precision``): fp32 (the default) or bf16, separate from the
evaluation's ``--precision``.

bf16 runs each iteration's objective (the matching loss and what it unrolls, e.g. TM's student with
its double backward) under bfloat16 autocast; the learnable parameters, their optimizers' states, the
loss and every parameter update stay float32, and cached artefacts (TM's experts) are trained in
float32 whatever the precision. A bf16 buffer is another buffer: its spec carries
``distill_precision=bf16``, so the buffer key, the manifest's spec and every record name it. fp32 is
the absence of the key, so an fp32 spec, its buffer key and its records are what they were before the
option existed. Strategies that do not distil (random, whole, herding, the coresets) have no loop to
run in bf16: the option leaves their specs, keys and buffers as they are.
"""

from __future__ import annotations

import contextlib
from typing import Any

import torch

from benchmark.errors import UserInputError
from benchmark.spec import Param, Spec

PRECISIONS = ("fp32", "bf16")
KEY = "distill_precision"


def _only_bf16(value: Any) -> None:
    if value != "bf16":
        raise UserInputError(
            "the only value is bf16; fp32 is the default and is written by leaving the key out "
            "(so fp32 buffers keep their keys)"
        )


PARAM = Param("fp32", "bf16: the objective under bfloat16 autocast (--distill-precision)", check=_only_bf16)


def precision_of(config: dict[str, Any]) -> str:
    """The distillation precision a resolved config asks for."""
    return config.get(KEY, "fp32")


def bf16_unsupported(device: torch.device | str) -> str | None:
    """Why ``device`` cannot distil in bf16 at a useful speed (one line naming the missing flag and
    the fix), or None. CPU: oneDNN and native bfloat16 arithmetic (AVX512-BF16 or AMX tiles), without
    which every bf16 convolution is emulated; CUDA: ``torch.cuda.is_bf16_supported()``."""
    kind = torch.device(device).type
    fix = "use --distill-precision fp32 (the default)"
    if kind == "cuda":
        if torch.cuda.is_available() and torch.cuda.is_bf16_supported():
            return None
        return f"this GPU has no bfloat16 support (torch.cuda.is_bf16_supported() is False); {fix}"
    if kind != "cpu":
        return f"--distill-precision bf16 is for CPU and CUDA devices, not {kind}; {fix}"
    if not torch.backends.mkldnn.is_available():
        return f"this PyTorch build has no oneDNN (torch.backends.mkldnn.is_available() is False); {fix}"
    native = [getattr(torch.cpu, probe, lambda: False)() for probe in
              ("_is_avx512_bf16_supported", "_is_amx_tile_supported")]  # fmt: skip
    if not any(native):
        return (
            "this CPU has no native bfloat16 arithmetic (neither the avx512_bf16 nor the amx_tile flag); "
            f"{fix}, or run on a CPU with AVX512-BF16 or AMX, or on a CUDA GPU"
        )
    return None


def check_supported(device: torch.device | str) -> None:
    """One line (UserInputError) when ``device`` cannot distil in bf16."""
    reason = bf16_unsupported(device)
    if reason is not None:
        raise UserInputError(f"--distill-precision bf16: {reason}")


def with_precision(spec: Spec, precision: str, device: torch.device | str, distills: bool) -> Spec:
    """``spec`` with the distillation precision the run asks for: ``distill_precision=bf16`` added to
    the spec of a strategy that ``distills`` (a spec may also give it itself), unchanged for fp32 and
    for strategies that do not distil. A bf16 request on a device without bfloat16 is refused here,
    before any work."""
    if precision not in PRECISIONS:
        raise UserInputError(f"--distill-precision {precision!r}: choose one of {', '.join(PRECISIONS)}")
    if not distills:
        return spec
    if precision == "bf16" and KEY not in spec.params:
        spec = Spec(spec.name, spec.params | {KEY: "bf16"})
    if spec.params.get(KEY) == "bf16":
        check_supported(device)
    return spec


def autocast(precision: str, device: torch.device | str) -> contextlib.AbstractContextManager:
    """bfloat16 autocast on ``device`` for ``bf16``; nothing for ``fp32``."""
    if precision == "fp32":
        return contextlib.nullcontext()
    check_supported(device)
    return torch.autocast(torch.device(device).type, dtype=torch.bfloat16)
