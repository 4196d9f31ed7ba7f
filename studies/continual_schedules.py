"""The continual suite's quick schedules chosen on validation curves (issue 34, item 2).

One continual step is a fit of 2 Fashion-MNIST classes at IPC 3 (quick profile, specs resolved for
2 classes as the suite resolves them). For steps 0 and 2 of class order 0 and distillation seed 0,
each trial is one long distillation; the buffer made after each snapshot iteration trains
``REPEATS`` fresh networks with the continual suite's quick recipe (ConvNet width 32, 150 epochs,
lr 0.01, per-sample DSA, no learned lr) on that step's buffer alone, tested on the **validation**
images of the step's classes (the test split is never read). Iteration 0 of a SPEED trial is its
real-image fit alone (a fit with no distillation iterations, timed on its own). Evaluation seeds
depend only on (step, repeat), so points of one step are paired.

Selection rule (docs/studies/continual-schedules.md): per method, the smallest schedule whose mean
validation accuracy (over both steps and repeats) is within 1 point of the best on its curve.

Resumable: snapshots and results are files; a re-run skips what exists. Run disjoint ``--trials``
in at most two processes side by side, each with OMP_NUM_THREADS=1.

    python studies/continual_schedules.py run [--trials a,b] [--steps 0,2]
    python studies/continual_schedules.py report
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch

from benchmark.budget import Budget
from benchmark.buffer import Buffer
from benchmark.continual.stream import class_incremental_steps, class_order
from benchmark.data import DatasetOptions, load_dataset
from benchmark.seeding import derive_seed
from benchmark.spec import canonical, parse_spec
from benchmark.strategy import FitContext, resolve, strategy_class
from benchmark.suites.continual import CONTINUAL_RECIPE, ContinualSuite
from benchmark.training.evaluate import train_and_test
from benchmark.training.job import EvaluationJob, TrainingSet
from benchmark.training.recipe import EvalRecipe

DATASET, IPC, STEPS, ORDER, SEED, REPEATS = "fashion_mnist", 3, 5, 0, 0, 3
DEFAULT_STEPS = (0, 2)
# The continual suite's quick recipe, on every validation image of the step's classes.
RECIPE = EvalRecipe.from_settings(CONTINUAL_RECIPE | {"epochs": 150, "network_options": {"width": 32}})
OUTPUT = Path(__file__).parent / "continual-schedules-data"  # results and snapshot buffers (small)
CACHE = Path("results/studies/continual-schedules-cache")  # experts and dataset transforms

# trial → (method, spec, snapshot iterations); 0 is the fit without distillation iterations.
TRIALS: dict[str, tuple[str, str, tuple[int, ...]]] = {
    "speed-tm-fit100": ("speed", "speed:init_steps=100", (0, 25, 50, 100)),
    "speed-tm-fit300": ("speed", "speed:init_steps=300", (0, 25, 50, 100)),
    "tm": ("tm", "tm", (25, 50, 100, 150)),
    "speed-dm-fit100": ("speed:objective=dm", "speed:objective=dm:init_steps=100", (0, 100, 200, 500, 1000)),
    "speed-dm-fit300": ("speed:objective=dm", "speed:objective=dm:init_steps=300", (0, 100, 200, 500, 1000)),
    "dm": ("dm", "dm", (50, 100, 200, 400)),
}


class Study:
    def __init__(self, output: Path, cache: Path):
        self.output = output
        self.cache = cache
        self.results_path = output / "results.jsonl"
        self.data = load_dataset(DATASET, DatasetOptions(cache_dir=cache))
        order = class_order(ORDER, self.data.num_classes)
        self.steps = class_incremental_steps(self.data.train.labels, self.data.test.labels, order, STEPS)

    # ---- results ---------------------------------------------------------------------------
    def results(self) -> list[dict]:
        if not self.results_path.exists():
            return []
        return [json.loads(line) for line in self.results_path.read_text().splitlines() if line.strip()]

    def append(self, entry: dict) -> None:
        print(json.dumps(entry), flush=True)
        with self.results_path.open("a") as handle:
            handle.write(json.dumps(entry) + "\n")

    def snapshot_path(self, trial: str, step: int, iteration: int) -> Path:
        return self.output / "trials" / f"{trial}-step{step}" / f"snapshot_{iteration:05d}.safetensors"

    # ---- one trial on one step ---------------------------------------------------------------------
    def run(self, trial: str, step_index: int) -> None:
        _, spec, snapshots = TRIALS[trial]
        step = self.steps[step_index]
        data = ContinualSuite.step_data(self.data, step)
        budget = Budget(IPC, len(data.classes), data.image_shape)
        resolved = resolve(parse_spec(spec), "quick", DATASET, IPC, len(data.classes))
        longest = [n for n in snapshots if n > 0]
        for iterations in sorted({0, max(longest)} if 0 in snapshots else {max(longest)}):
            wanted = [0] if iterations == 0 else longest
            if all(self.snapshot_path(trial, step_index, n).is_file() for n in wanted):
                continue
            config = dict(resolved.config, iterations=iterations)
            start = (time.perf_counter(), time.process_time())

            def on_snapshot(iteration: int, buffer: Buffer, config=config, start=start) -> None:
                self.save(trial, step_index, iteration, buffer, data, resolved.name, config, start)

            checkpoint = self.output / "trials" / f"{trial}-step{step_index}" / "checkpoint.pt"
            context = FitContext(
                cache_root=self.cache,
                show_progress=False,
                checkpoint_path=checkpoint if iterations else None,
                checkpoint_every_s=300.0,
                snapshot_at=tuple(longest),
                on_snapshot=on_snapshot,
            )
            buffer = strategy_class(resolved.name)(config).fit(data, budget, SEED, context)
            if iterations == 0:
                self.save(trial, step_index, 0, buffer, data, resolved.name, config, start)
            checkpoint.unlink(missing_ok=True)
        done = {(r["trial"], r["step"], r["iteration"], r["repeat"]) for r in self.results()}
        for iteration in snapshots:
            self.evaluate(trial, step_index, iteration, data, done)

    def save(self, trial, step, iteration, buffer, data, name, config, start) -> None:
        path = self.snapshot_path(trial, step, iteration)
        if path.is_file():
            return
        buffer.manifest |= {
            "spec": canonical(name, config), "strategy": name, "dataset": DATASET,
            "preprocessing": data.preprocessing, "ipc": IPC, "seed": SEED, "iteration": iteration,
            "classes": list(data.classes), "image_shape": list(data.image_shape),
            "distill_wall_s": round(time.perf_counter() - start[0], 1),
            "distill_cpu_s": round(time.process_time() - start[1], 1),
        }  # fmt: skip
        buffer.save(path)

    def evaluate(self, trial: str, step: int, iteration: int, data, done: set) -> None:
        buffer = Buffer.load(self.snapshot_path(trial, step, iteration))
        training = TrainingSet.of(buffer)
        for repeat in range(REPEATS):
            if (trial, step, iteration, repeat) in done:
                continue
            begin = time.perf_counter(), time.process_time()
            seed = derive_seed("continual-schedules", step, repeat)
            _, accuracy = train_and_test(EvaluationJob("ConvNet", data, training, RECIPE, seed, data.val))
            self.append(
                {
                    "trial": trial, "method": TRIALS[trial][0], "step": step, "classes": list(data.classes),
                    "iteration": iteration, "repeat": repeat, "val_accuracy": accuracy,
                    "val_images": len(data.val), "images": len(training.images), "storage": buffer.storage,
                    "spec": buffer.manifest["spec"], "distill_wall_s": buffer.manifest["distill_wall_s"],
                    "distill_cpu_s": buffer.manifest["distill_cpu_s"],
                    "evaluate_s": round(time.perf_counter() - begin[0], 1),
                    "evaluate_cpu_s": round(time.process_time() - begin[1], 1),
                    "threads": torch.get_num_threads(),
                }
            )  # fmt: skip


# ---- report -------------------------------------------------------------------------------------


def curves(results: list[dict]) -> dict[str, dict[int, dict[int, list[float]]]]:
    """trial → iteration → step → validation accuracies (%) of its repeats."""
    table: dict[str, dict[int, dict[int, list[float]]]] = {}
    for r in results:
        points = table.setdefault(r["trial"], {}).setdefault(r["iteration"], {})
        points.setdefault(r["step"], []).append(100 * r["val_accuracy"])
    return table


def mean_over_steps(points: dict[int, list[float]]) -> float:
    return sum(sum(v) / len(v) for v in points.values()) / len(points)


def choose(results: list[dict], tolerance: float = 1.0) -> dict[str, tuple[str, int, float, float]]:
    """method → (trial, iterations, its mean, the best mean): the smallest schedule (cost order: the
    shorter real-image fit first, then fewer iterations) within ``tolerance`` points of the method's
    best; only points measured on every step count."""
    steps = {r["step"] for r in results}
    chosen = {}
    table = curves(results)
    methods = {TRIALS[t][0] for t in table}
    for method in sorted(methods):
        points = [
            (iteration, _fit_steps(trial), trial, mean_over_steps(by_step))
            for trial, curve in table.items()
            if TRIALS[trial][0] == method
            for iteration, by_step in curve.items()
            if set(by_step) == steps
        ]
        if not points:
            continue
        best = max(p[3] for p in points)
        iteration, _, trial, value = min(p for p in points if p[3] >= best - tolerance)
        chosen[method] = (trial, iteration, value, best)
    return chosen


def _fit_steps(trial: str) -> int:
    spec = parse_spec(TRIALS[trial][1])
    return int(spec.params.get("init_steps", 0))


def report(output: Path) -> str:
    results = Study.__new__(Study)
    results.results_path = output / "results.jsonl"
    rows = results.results()
    table = curves(rows)
    iterations = sorted({n for curve in table.values() for n in curve})
    lines = [
        "| trial | " + " | ".join(str(n) for n in iterations) + " |",
        "|---|" + "---|" * len(iterations),
    ]
    for trial, curve in table.items():
        cells = []
        for n in iterations:
            by_step = curve.get(n)
            if not by_step:
                cells.append("")
                continue
            per_step = " / ".join(f"{sum(v) / len(v):.1f}" for _, v in sorted(by_step.items()))
            cells.append(f"**{mean_over_steps(by_step):.1f}** ({per_step})")
        lines.append(f"| {trial} | " + " | ".join(cells) + " |")
    walls: dict[tuple[str, int], dict[int, float]] = {}
    for r in rows:
        walls.setdefault((r["trial"], r["iteration"]), {})[r["step"]] = r["distill_wall_s"]
    lines += ["", "| trial | iteration | distillation wall s (per step) |", "|---|---|---|"]
    for (trial, iteration), by_step in sorted(walls.items()):
        lines.append(
            f"| {trial} | {iteration} | " + " / ".join(f"{w:.0f}" for _, w in sorted(by_step.items())) + " |"
        )
    lines += [
        "",
        "| method | chosen trial | iterations | mean val % | best mean val % |",
        "|---|---|---|---|---|",
    ]
    for method, (trial, iteration, value, best) in choose(rows).items():
        lines.append(f"| {method} | {trial} | {iteration} | {value:.1f} | {best:.1f} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=("run", "report"))
    parser.add_argument("--trials", default=",".join(TRIALS), help="comma-separated trial names")
    parser.add_argument("--steps", default=",".join(map(str, DEFAULT_STEPS)), help="continual steps (from 0)")
    parser.add_argument("--output", type=Path, default=OUTPUT)
    parser.add_argument("--cache", type=Path, default=CACHE)
    args = parser.parse_args()
    args.output.mkdir(parents=True, exist_ok=True)
    if args.command == "report":
        print(report(args.output))
        return
    torch.set_num_threads(1)
    study = Study(args.output, args.cache)
    for trial in [t for t in args.trials.split(",") if t]:
        if trial not in TRIALS:
            raise SystemExit(f"unknown trial {trial!r}; choose from {', '.join(TRIALS)}")
        for step in [int(s) for s in args.steps.split(",") if s]:
            study.run(trial, step)


if __name__ == "__main__":
    main()
