"""bf16 against fp32 distillation (issue 42): SPEED × TM and pixel TM at Fashion-MNIST IPC 1 (quick).

Each trial distils one buffer (the method's quick spec; ``distill_precision=bf16`` for bf16, as
``--distill-precision bf16`` adds it) on one distillation seed and trains ``NETWORKS`` fresh ConvNets
on it in **fp32** with the standard suite's quick recipe, measured on the **validation** split (the
test split is never read), with the evaluation seeds of the other studies
(``derive_seed("convergence-study", r)``). The report pairs the two precisions by distillation seed:
per method, bf16 − fp32 of the buffer means, its mean over seeds and its 95 % t interval
(benchmark/report/contrast.py ``paired_interval``), and whether the interval's lower end is above
``MARGIN`` points.

Resumable: one JSON per trial under ``--output``; distillations checkpoint every five minutes and
buffers are kept under ``--cache`` (ignored by git). Each process runs one torch thread; run disjoint
``--methods`` / ``--precisions`` / ``--seeds`` in parallel processes.

    python studies/distill_precision.py run [--methods speed,tm] [--precisions fp32,bf16] [--seeds 0,1,2]
    python studies/distill_precision.py report
    python studies/distill_precision.py run --dataset digits --profile smoke --seeds 0   # seconds (tests)
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from dataclasses import dataclass, replace
from pathlib import Path

import torch
from fair_search import IPC, Search

from benchmark.distill.precision import PRECISIONS, with_precision
from benchmark.report.contrast import paired_interval
from benchmark.spec import parse_spec
from benchmark.strategy import resolve

METHODS = ("speed", "tm")  # SPEED × TM (speed's default objective) and pixel TM
SEEDS = (0, 1, 2)
MARGIN = -0.5  # points: is the interval's lower end above this?
ROOT = Path(__file__).resolve().parent


@dataclass(frozen=True)
class Trial:
    method: str
    precision: str
    seed: int

    @property
    def name(self) -> str:
        return f"{self.method}-{self.precision}-seed{self.seed}"


def trials(methods=METHODS, precisions=PRECISIONS, seeds=SEEDS) -> list[Trial]:
    """Seed-major, fp32 and bf16 of a seed next to each other (a partial run still pairs)."""
    return [Trial(m, p, s) for s in seeds for m in methods for p in precisions]


class Study(Search):
    """The fair search's distillation and validation evaluation (studies/fair_search.py), with the
    evaluation recipe in fp32 whatever the profile says: only the distillation's precision differs."""

    def __init__(self, output: Path, cache: Path, dataset: str = "fashion_mnist", profile: str = "quick"):
        super().__init__(output, cache, dataset, profile)
        self.recipe = replace(self.recipe, precision="fp32")

    def resolved(self, trial: Trial):
        spec = with_precision(parse_spec(trial.method), trial.precision, "cpu", distills=True)
        return resolve(spec, self.profile, self.dataset, IPC)

    def run(self, trial: Trial) -> dict:
        if self.path(trial.name).is_file():
            return json.loads(self.path(trial.name).read_text())
        resolved = self.resolved(trial)
        buffer, wall, process = self.distill(trial, resolved)
        accuracies, _, seconds = self.evaluate(buffer, self.recipe)
        own = {"trial": trial.name, "method": trial.method, "distill_precision": trial.precision,
               "distill_seed": trial.seed}  # fmt: skip
        entry = self.write(trial.name, resolved, buffer, accuracies, (wall, process, seconds), own)
        print(f"{trial.name}: validation {entry['mean']:.2f} % (distilled in {wall:.0f} s)", flush=True)
        return entry


def load_results(output: Path) -> dict[str, dict]:
    return {path.stem: json.loads(path.read_text()) for path in sorted(output.glob("*.json"))}


def differences(results: dict[str, dict], method: str) -> dict[int, float]:
    """Distillation seed → bf16 − fp32 of the two buffers' mean validation accuracy (points), for the
    seeds with both."""
    by = {
        (e["distill_precision"], e["distill_seed"]): e["mean"]
        for e in results.values()
        if e["method"] == method
    }
    return {
        s: by[("bf16", s)] - by[("fp32", s)] for (p, s) in sorted(by) if p == "fp32" and ("bf16", s) in by
    }


def report(output: Path) -> str:
    results = load_results(output)
    lines = ["| method | seeds | fp32 val % | bf16 val % | bf16 − fp32 (points) | 95 % interval | "
             f"lower end > {MARGIN} | distill s fp32 / bf16 |",
             "|---|---|---|---|---|---|---|---|"]  # fmt: skip
    for method in METHODS:
        paired = differences(results, method)
        if not paired:
            continue
        entries = [e for e in results.values() if e["method"] == method and e["distill_seed"] in paired]
        mean = {
            p: statistics.mean(e["mean"] for e in entries if e["distill_precision"] == p) for p in PRECISIONS
        }
        wall = {p: statistics.mean(e["distill_wall_s"] for e in entries if e["distill_precision"] == p)
                for p in PRECISIONS}  # fmt: skip
        diff, low, high = paired_interval(list(paired.values()))
        interval = "—" if low != low else f"[{low:+.2f}, {high:+.2f}]"
        above = "—" if low != low else ("yes" if low > MARGIN else "no")
        lines.append(
            f"| {method} | {', '.join(map(str, paired))} | {mean['fp32']:.2f} | {mean['bf16']:.2f} | "
            f"{diff:+.2f} | {interval} | {above} | {wall['fp32']:.0f} / {wall['bf16']:.0f} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=("run", "report"))
    parser.add_argument("--methods", default=",".join(METHODS))
    parser.add_argument("--precisions", default=",".join(PRECISIONS))
    parser.add_argument("--seeds", default=",".join(map(str, SEEDS)))
    parser.add_argument("--dataset", default="fashion_mnist")
    parser.add_argument("--profile", default="quick")
    parser.add_argument("--output", type=Path, default=ROOT / "distill-precision-data")
    parser.add_argument("--cache", type=Path, default=Path("results/distill-precision-cache"))
    args = parser.parse_args(argv)
    if args.command == "report":
        print(report(args.output))
        return 0
    torch.set_num_threads(1)
    methods = [m for m in args.methods.split(",") if m]
    precisions = [p for p in args.precisions.split(",") if p]
    unknown = sorted(set(methods) - set(METHODS)) + sorted(set(precisions) - set(PRECISIONS))
    if unknown:
        raise SystemExit(f"unknown {', '.join(unknown)}: methods {', '.join(METHODS)}; precisions fp32, bf16")
    study = Study(args.output, args.cache, args.dataset, args.profile)
    for trial in trials(methods, precisions, [int(s) for s in args.seeds.split(",") if s]):
        study.run(trial)
    print(report(args.output))
    return 0


if __name__ == "__main__":
    sys.exit(main())
