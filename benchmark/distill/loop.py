"""The generic distillation loop: optimizers per parameter group, NaN guard, checkpoint and resume.

A checkpoint holds the parameters, the objective's state, every optimizer's state and every RNG
state (decision 12), so a resumed run gives the same buffer as an uninterrupted one.
"""

from __future__ import annotations

import io
import time
from collections.abc import Callable
from typing import Any

import torch

from benchmark.atomic import atomic_write_bytes
from benchmark.distill.objective import Objective
from benchmark.distill.parameterization import Parameterization
from benchmark.distill.precision import autocast
from benchmark.errors import CorruptFileError, DistillationDivergedError, UserInputError, first_line
from benchmark.progress import progress
from benchmark.seeding import generator as make_generator
from benchmark.strategy import FitContext

OPTIMIZERS = {"sgd", "adam"}


def make_optimizers(groups: list[dict[str, Any]]) -> list[torch.optim.Optimizer]:
    """One optimizer per group (SGD with the group's momentum, or Adam), as the methods specify."""
    optimizers = []
    for group in groups:
        kind = group.get("optimizer", "sgd")
        params = [p for p in group["params"] if p.requires_grad]
        if not params:
            continue
        if kind == "sgd":
            optimizers.append(torch.optim.SGD(params, lr=group["lr"], momentum=group.get("momentum", 0.0)))
        elif kind == "adam":
            optimizers.append(torch.optim.Adam(params, lr=group["lr"]))
        else:
            raise UserInputError(f"unknown optimizer {kind!r}; choose one of {', '.join(sorted(OPTIMIZERS))}")
    return optimizers


def distill(
    synthetic: Parameterization,
    objective: Objective,
    iterations: int,
    seed: int,
    context: FitContext,
    desc: str = "distill",
    snapshot: Callable[[int], None] | None = None,
    precision: str = "fp32",
) -> list[float]:
    """Run ``iterations`` steps of (matching loss + regulariser); returns the loss per iteration.

    ``snapshot(n)`` is called after the n-th step for every n in ``context.snapshot_at``. ``precision``
    bf16 computes the loss under bfloat16 autocast (benchmark/distill/precision.py); the backward
    pass, the optimizers and the parameters stay float32."""
    optimizers = make_optimizers(synthetic.optimizer_groups() + objective.optimizer_groups())
    rng = make_generator(seed)
    context.started = time.perf_counter()
    losses: list[float] = []
    start = _resume(context, synthetic, objective, optimizers, rng, losses)
    last_save = time.monotonic()
    bar = progress(
        range(start, iterations), total=iterations - start, desc=desc, enabled=context.show_progress
    )
    for iteration in bar:
        with autocast(precision, context.device):
            loss = (objective.loss(synthetic, rng) + synthetic.regularizer()).float()
        value = float(loss.detach())
        if not torch.isfinite(loss.detach()):
            raise DistillationDivergedError(iteration, value)
        for optimizer in optimizers:
            optimizer.zero_grad(set_to_none=True)
        loss.backward()
        for optimizer in optimizers:
            optimizer.step()
        objective.after_step()
        losses.append(value)
        if snapshot is not None and iteration + 1 in context.snapshot_at:
            snapshot(iteration + 1)
        if iteration % 10 == 0:
            bar.set_postfix(loss=f"{value:.4g}")
        if context.checkpoint_path and time.monotonic() - last_save > context.checkpoint_every_s:
            save_checkpoint(context, iteration + 1, synthetic, objective, optimizers, rng, losses)
            last_save = time.monotonic()
    return losses


def save_checkpoint(context, next_iteration, synthetic, objective, optimizers, rng, losses) -> None:
    state = {
        "iteration": next_iteration,
        "synthetic": synthetic.state_dict(),
        "objective": objective.state_dict(),
        "optimizers": [o.state_dict() for o in optimizers],
        "rng": rng.get_state(),
        "torch_rng": torch.get_rng_state(),
        "losses": torch.tensor(losses, dtype=torch.float64),
        "wall_s": torch.tensor(context.resumed_wall_s + time.perf_counter() - context.started),
    }
    if torch.cuda.is_available():
        state["cuda_rng"] = torch.cuda.get_rng_state_all()
    payload = io.BytesIO()
    torch.save(state, payload)
    atomic_write_bytes(context.checkpoint_path, payload.getvalue())


def _resume(context, synthetic, objective, optimizers, rng, losses) -> int:
    """The iteration to go on from: 0, or the checkpoint's (restoring every state, decision 12). A
    checkpoint that cannot be read is one line naming it and the fix (never unpickled code)."""
    path = context.checkpoint_path
    if not path or not path.is_file():
        return 0
    try:
        state = torch.load(path, map_location=context.device, weights_only=True)
        synthetic.load_state_dict(state["synthetic"])
        objective.load_state_dict(state["objective"])
        for optimizer, saved in zip(optimizers, state["optimizers"], strict=True):
            optimizer.load_state_dict(saved)
        rng.set_state(state["rng"].cpu())
        torch.set_rng_state(state["torch_rng"].cpu())
        if "cuda_rng" in state and torch.cuda.is_available():
            torch.cuda.set_rng_state_all([s.cpu() for s in state["cuda_rng"]])
        losses.extend(state["losses"].tolist())
        context.resumed_wall_s = float(state.get("wall_s", 0.0))
        return int(state["iteration"])
    except Exception as error:  # truncated, tampered or from other code: never trusted
        reason = first_line(error) or type(error).__name__
        raise CorruptFileError(
            f"the distillation checkpoint {path} cannot be resumed ({type(error).__name__}: {reason}); "
            "re-run with --force to start this buffer afresh"
        ) from None
