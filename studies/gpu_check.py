"""The GPU check: paper-scale measurements that a CPU cannot make in a session, sized for about five
minutes of one large GPU. Each stage runs through the command line's ``run`` in this process, then
prints and saves (``<output>/<stage>.json``) what it measured before the next stage starts, so a
stage cut short by a time limit loses only itself.

Stages (Fashion-MNIST, IPC 1, the standard suite, test split, final epoch):

- ``dsa``: the paper-profile DSA row (1,000 iterations, ConvNet-128, 1,000 evaluation epochs with
  DSA, 5 networks) against the DSA paper's published 70.6 ± 0.6 (docs/protocol.md §10).
- ``tm``, ``speed``, ``speed-real``: SPEED × TM against pixel TM in the paper profile with a few
  experts (4 ConvNet-128 experts of 12 epochs on the whole training split, starts below epoch 10),
  1,000 iterations each, 2 evaluation networks per buffer: pixel TM; SPEED as the paper profile
  resolves it (noise start, sparsification at export); SPEED from its real-image fit with top-k in
  the forward pass (the quick profile's validated start). The stages are independent (each trains
  the same experts into its own output folder), so on a GPU they can run side by side as separate
  processes (``--stages tm --output-dir …/tm`` and so on).

    python studies/gpu_check.py [--output-dir results/gpu-check] [--device cuda] [--stages dsa,tm,…]
    python studies/gpu_check.py --dry-run      # CPU, smoke profile, digits: seconds (run by the tests)
    python studies/gpu_check.py --dry-run --device cuda   # the same plumbing on the GPU
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import torch

from benchmark import cli, results
from benchmark.spec import parse_spec
from benchmark.strategy import resolve

EXPERTS = "num_experts=4:expert_train_epochs=12:max_start=10"
DRY_EXPERTS = "num_experts=1:expert_train_epochs=2:max_start=1:expert_epochs=1:syn_steps=2"


@dataclass(frozen=True)
class Stage:
    name: str
    strategies: tuple[str, ...]
    repeats: int
    published: dict[str, tuple[float, float]]  # strategy label → published mean, std (%)


def stages(dry_run: bool) -> list[Stage]:
    experts = DRY_EXPERTS if dry_run else EXPERTS
    schedule = f"{experts}:iterations={2 if dry_run else 1000}"
    networks = 1 if dry_run else 2
    return [
        Stage(
            "dsa", ("dsa:iterations=2",) if dry_run else ("dsa",), 2 if dry_run else 5, {"dsa": (70.6, 0.6)}
        ),
        Stage("tm", (f"tm:{schedule}",), networks, {}),
        Stage("speed", (f"speed:{schedule}",), networks, {}),
        Stage("speed-real", (f"speed:{schedule}:init=real:sparsify=forward",), networks, {}),
    ]


def run_stage(stage: Stage, output: Path, device: str, dry_run: bool) -> dict:
    """Run one stage's cells and return what it measured: per spec, mean ± std (ddof 0) of the
    evaluation networks' test accuracies, their number, distillation and evaluation seconds."""
    argv = [
        "run", "--suite", "standard", "--profile", "smoke" if dry_run else "paper",
        "--dataset", "digits" if dry_run else "fashion_mnist", "--ipc", "1", "--seeds", "0",
        "--strategies", ",".join(stage.strategies), "--networks", "ConvNet",
        "--repeats", str(stage.repeats), "--output-dir", str(output / "results"), "--device", device,
        "--no-progress",
    ]  # fmt: skip
    started = time.perf_counter()
    status = cli.main(argv)
    wall = time.perf_counter() - started
    frame = results.load(output / "results", suite="standard")
    frame = frame[(frame["metric"] == "accuracy") & (frame["status"] == "ok")]
    measured = {}
    profile, dataset = argv[argv.index("--profile") + 1], argv[argv.index("--dataset") + 1]
    specs = {resolve(parse_spec(text), profile, dataset, 1).canonical for text in stage.strategies}
    for spec, rows in frame[frame["spec"].isin(specs)].groupby("spec"):
        measured[spec] = {
            "mean": round(float(rows["value_pct"].mean()), 2),
            "std": round(float(rows["value_pct"].std(ddof=0)), 2),
            "n": int(len(rows)),
            "distill_s": round(float(rows["distill_s"].max()), 1),
            "evaluate_s": round(float(rows["evaluate_s"].sum()), 1),
        }
    return {
        "stage": stage.name, "exit_status": status, "wall_s": round(wall, 1), "command": argv,
        "published": stage.published, "measured": measured, "environment": environment(device),
    }  # fmt: skip


def environment(device: str) -> dict:
    gpu = torch.cuda.get_device_name(0) if device != "cpu" and torch.cuda.is_available() else None
    return {"torch": torch.__version__, "python": platform.python_version(), "gpu": gpu,
            "cuda": torch.version.cuda, "device": device}  # fmt: skip


def report(result: dict) -> str:
    lines = [f"stage {result['stage']}: exit {result['exit_status']}, {result['wall_s']} s"]
    for spec, m in sorted(result["measured"].items()):
        lines.append(
            f"  {m['mean']:6.2f} ± {m['std']:.2f} (n={m['n']}; distill {m['distill_s']} s, "
            f"evaluate {m['evaluate_s']} s)  {spec}"
        )
    for label, (mean, std) in result["published"].items():
        lines.append(f"  published {label}: {mean} ± {std}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--output-dir", type=Path, default=Path("results/gpu-check"))
    parser.add_argument("--device", default=None, help="default: cuda, or cpu with --dry-run")
    parser.add_argument("--stages", default="dsa,tm,speed,speed-real", help="comma-separated stages")
    parser.add_argument("--dry-run", action="store_true", help="CPU, smoke profile, digits: seconds")
    args = parser.parse_args(argv)
    device = args.device or ("cpu" if args.dry_run else "cuda")
    if device != "cpu" and not torch.cuda.is_available():
        print("error: no CUDA device is visible; run with --dry-run to check the plumbing on CPU",
              file=sys.stderr)  # fmt: skip
        return 2
    chosen = args.stages.split(",")
    known = {stage.name: stage for stage in stages(args.dry_run)}
    unknown = [name for name in chosen if name not in known]
    if unknown:
        print(f"error: unknown stage {unknown[0]!r}; choose from {', '.join(known)}", file=sys.stderr)
        return 2
    args.output_dir.mkdir(parents=True, exist_ok=True)
    worst = 0
    for name in chosen:
        result = run_stage(known[name], args.output_dir, device, args.dry_run)
        (args.output_dir / f"{name}.json").write_text(json.dumps(result, indent=2) + "\n")
        print(report(result), flush=True)
        worst = max(worst, result["exit_status"])
    return worst


if __name__ == "__main__":
    sys.exit(main())
