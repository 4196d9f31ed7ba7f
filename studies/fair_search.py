"""An equal search budget for the pixel baselines (issue 35): TM, DM and DSA at Fashion-MNIST IPC 1.

SPEED × TM's quick settings were picked among about a dozen distillations on the validation split
(docs/studies/speed-tm-fashion-mnist.md); TM, DM and DSA ran presets never searched on Fashion-MNIST.
This study gives each of them a search of the same size over its own published knobs, measured the
same way, under the rule written in docs/studies/fair-search.md before any trial ran.

Each trial is one distillation (distillation seed 0; the spec resolved in the profile, the trial's
knobs on top) whose buffer trains ``NETWORKS`` fresh evaluation networks with the standard suite's
recipe of the profile (quick: ConvNet-128, 300 epochs, per-sample DSA, lr = the buffer's learned
lr or 0.01), measured on the **validation** split (the test split is never read). The evaluation
seeds are the ones the SPEED selection used (``derive_seed("convergence-study", r)``,
studies/speed_convergence.py), so repeat r has the same network initialisation and batch order as
there. ``confirm`` distils the three best trials of each method again on seed 1, as the SPEED
selection did for its three best architectures.

Resumable: one JSON per trial under ``--output``; distillations checkpoint every five minutes and
buffers are kept under ``--cache`` (ignored by git). Run methods in parallel processes with disjoint
``--methods``.

    python studies/fair_search.py run [--methods tm,dm,dsa] [--trials N] [--only tm-03,…]
    python studies/fair_search.py confirm [--methods …]     # the top three of each method on seed 1
    python studies/fair_search.py report                    # the tables and the selection
    python studies/fair_search.py selected                  # the selected specs, comma-separated
    python studies/fair_search.py run --dataset digits --profile smoke --trials 1   # seconds (tests)
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import torch

from benchmark.budget import Budget
from benchmark.buffer import Buffer
from benchmark.data import DatasetOptions, load_dataset
from benchmark.profiles import load_profile
from benchmark.results.record import git_commit
from benchmark.seeding import derive_seed
from benchmark.spec import format_value, parse_spec
from benchmark.strategy import FitContext, resolve, strategy_class
from benchmark.suites.standard import StandardSuite
from benchmark.training.evaluate import train_and_test
from benchmark.training.job import EvaluationJob, TrainingSet
from benchmark.training.recipe import EvalRecipe

IPC, SEED, CONFIRM_SEED = 1, 0, 1
NETWORKS = 2  # evaluation networks per buffer, as in the SPEED selection
EVAL_SEED_NAMESPACE = "convergence-study"  # the SPEED selection's evaluation seeds
CONFIRMED = 3  # trials of each method distilled again on CONFIRM_SEED
TIE_POINTS = 0.3  # means within this many points of the best count as tied (the cheaper wins)

# Each method's grid: the quick preset first, then its own published knobs moved one or two at a
# time (fixed lists, 12 per method). TM keeps the quick experts (4 ConvNet-32 × 6 epochs), so
# max_start + expert_epochs ≤ 6.
GRIDS: dict[str, list[dict]] = {
    "tm": [
        {},
        {"lr_img": 10.0},
        {"lr_img": 1000.0},
        {"lr_img": 10000.0},
        {"lr_init": 0.003},
        {"lr_init": 0.03},
        {"syn_steps": 20},
        {"syn_steps": 40},
        {"max_start": 2},
        {"expert_epochs": 1, "max_start": 5},
        {"expert_epochs": 3, "max_start": 3},
        {"iterations": 300},
    ],
    "dm": [
        {},
        {"lr_img": 0.3},
        {"lr_img": 3.0},
        {"lr_img": 10.0},
        {"batch_real": 128},
        {"batch_real": 256},
        {"iterations": 1000},
        {"iterations": 2000},
        {"lr_img": 3.0, "iterations": 1000},
        {"lr_img": 10.0, "iterations": 1000},
        {"batch_real": 256, "iterations": 1000},
        {"lr_img": 3.0, "batch_real": 256, "iterations": 1000},
    ],
    "dsa": [
        {},
        {"lr_img": 0.03},
        {"lr_img": 0.3},
        {"lr_img": 1.0},
        {"iterations": 1000},
        {"iterations": 2000},
        {"outer_loop": 5, "inner_loop": 1},
        {"outer_loop": 10, "inner_loop": 5},
        {"outer_loop": 10, "inner_loop": 50},
        {"lr_img": 0.3, "iterations": 1000},
        {"lr_img": 1.0, "iterations": 1000},
        {"lr_img": 0.3, "outer_loop": 10, "inner_loop": 5, "iterations": 1000},
    ],
}


def cost(method: str, config: dict) -> float:
    """The work of a distillation in the unit that dominates it (the tie-break of the rule): TM
    student steps, DM and DSA real images embedded or differentiated per class."""
    if method == "tm":
        return config["iterations"] * config["syn_steps"]
    return config["iterations"] * config["batch_real"]


@dataclass(frozen=True)
class Trial:
    name: str  # e.g. tm-03, or tm-03-seed1 for its confirmation
    method: str
    overrides: dict
    seed: int = SEED
    repeats: str = ""  # a confirmation: the seed-0 trial it distils again

    @property
    def spec(self) -> str:
        return ":".join([self.method, *(f"{k}={format_value(v)}" for k, v in self.overrides.items())])


def trials(methods: list[str], count: int | None = None) -> list[Trial]:
    """The first ``count`` trials of each method's grid (all by default)."""
    chosen = []
    for method in methods:
        grid = GRIDS[method][:count] if count is not None else GRIDS[method]
        chosen += [Trial(f"{method}-{i:02d}", method, overrides) for i, overrides in enumerate(grid, 1)]
    return chosen


def eval_recipe(profile: str) -> EvalRecipe:
    """The standard suite's ConvNet recipe in ``profile`` (quick: 300 epochs, DSA, lr 0.01)."""
    recipes = load_profile(profile).settings(StandardSuite)["recipes"]
    return EvalRecipe.from_settings(dict(recipes.get("default", {})) | dict(recipes.get("ConvNet", {})))


class Search:
    """Distils and evaluates trials of one dataset and profile; one JSON per trial under ``output``."""

    def __init__(self, output: Path, cache: Path, dataset: str = "fashion_mnist", profile: str = "quick"):
        self.output, self.cache = output, cache
        self.dataset, self.profile = dataset, profile
        preprocessing = load_profile(profile).preprocessing(dataset)
        self.data = load_dataset(dataset, DatasetOptions(cache_dir=cache, preprocessing=preprocessing))
        self.budget = Budget(IPC, len(self.data.classes), self.data.image_shape)
        self.recipe = eval_recipe(profile)

    def path(self, name: str) -> Path:
        return self.output / f"{name}.json"

    def result(self, name: str) -> dict | None:
        path = self.path(name)
        if not path.is_file():
            return None
        entry = json.loads(path.read_text())
        if (entry["dataset"], entry["profile"]) != (self.dataset, self.profile):
            raise SystemExit(
                f"{path} holds a {entry['dataset']} {entry['profile']} trial; give another --output"
            )
        return entry

    def distill(self, trial: Trial, resolved) -> tuple[Buffer, float, float]:
        """The trial's buffer (kept under the cache), with the distillation's wall and process seconds."""
        folder = self.cache / f"{self.dataset}-{self.profile}" / trial.name
        path = folder / "buffer.safetensors"
        if path.is_file():
            buffer = Buffer.load(path)
            if buffer.manifest.get("spec") != resolved.canonical:
                raise SystemExit(f"{path} was distilled from another spec; delete it to distil again")
            return buffer, buffer.manifest["distill_wall_s"], buffer.manifest["distill_process_s"]
        context = FitContext(
            cache_root=self.cache, profile=self.profile, show_progress=False,
            checkpoint_path=folder / "checkpoint.pt", checkpoint_every_s=300.0,
        )  # fmt: skip
        wall, process = time.perf_counter(), time.process_time()
        strategy = strategy_class(resolved.name)(resolved.config)
        buffer = strategy.fit(self.data, self.budget, trial.seed, context)
        wall = time.perf_counter() - wall + context.resumed_wall_s  # a resumed fit counts its earlier part
        process = time.process_time() - process
        buffer.manifest |= {
            "spec": resolved.canonical, "strategy": resolved.name, "dataset": self.dataset,
            "preprocessing": self.data.preprocessing, "ipc": IPC, "seed": trial.seed,
            "classes": list(self.data.classes), "image_shape": list(self.data.image_shape),
            "distill_wall_s": round(wall, 1), "distill_process_s": round(process, 1),
        }  # fmt: skip
        buffer.save(path)
        context.checkpoint_path.unlink(missing_ok=True)
        return buffer, round(wall, 1), round(process, 1)

    def evaluate(self, buffer: Buffer, recipe: EvalRecipe) -> tuple[list[float], float | None, float]:
        """Validation accuracy of each evaluation network, the lr they trained at, the seconds taken."""
        training = TrainingSet.of(buffer)
        begin = time.perf_counter()
        accuracies = [
            train_and_test(
                EvaluationJob(
                    "ConvNet", self.data, training, recipe, derive_seed(EVAL_SEED_NAMESPACE, r), self.data.val
                )
            )[1]
            for r in range(NETWORKS)
        ]
        return accuracies, recipe.learning_rate(training.lr), round(time.perf_counter() - begin, 1)

    def write(
        self, name: str, resolved, buffer: Buffer, accuracies: list[float], seconds: tuple, own: dict
    ) -> dict:
        """Trial ``name``'s JSON: its ``own`` fields, then what every trial records (the spec, the
        evaluation, storage, the distillation's wall and process seconds and the evaluation's, the code)."""
        wall, process, evaluate = seconds
        entry = own | {
            "spec": resolved.canonical, "dataset": self.dataset, "profile": self.profile, "ipc": IPC,
            "split": "val", "network": "ConvNet", "recipe": self.recipe.describe(),
            "eval_seeds": [derive_seed(EVAL_SEED_NAMESPACE, r) for r in range(NETWORKS)],
            "val_accuracy": accuracies, "mean": 100 * statistics.mean(accuracies),
            "storage": buffer.storage, "budget": self.budget.floats,
            "distill_wall_s": wall, "distill_process_s": process, "evaluate_s": evaluate,
            "threads": torch.get_num_threads(), "git_commit": git_commit(),
            "created": datetime.now(UTC).isoformat(timespec="seconds"),
        }  # fmt: skip
        self.output.mkdir(parents=True, exist_ok=True)
        self.path(name).write_text(json.dumps(entry, indent=1) + "\n")
        return entry

    def run(self, trial: Trial) -> dict:
        done = self.result(trial.name)
        if done is not None:
            return done
        resolved = resolve(parse_spec(trial.spec), self.profile, self.dataset, IPC)
        buffer, wall, process = self.distill(trial, resolved)
        accuracies, lr, seconds = self.evaluate(buffer, self.recipe)
        images, _, learned_lr = buffer.materialize()
        entry = self.write(
            trial.name, resolved, buffer, accuracies, (wall, process, seconds),
            {"trial": trial.name, "method": trial.method, "overrides": trial.overrides,
             "distill_seed": trial.seed, "learned_lr": learned_lr, "eval_lr": lr, "images": len(images),
             "cost": cost(trial.method, resolved.config)},
        )  # fmt: skip
        print(f"{trial.name} {trial.spec}: validation {entry['mean']:.2f} %", flush=True)
        return entry


# ---- the selection rule (docs/studies/fair-search.md) -----------------------------------------------


def load_results(output: Path) -> dict[str, dict]:
    return {path.stem: json.loads(path.read_text()) for path in sorted(output.glob("*.json"))}


def ranked(results: dict[str, dict], method: str) -> list[dict]:
    """The method's seed-0 trials, best mean first (ties: grid order)."""
    entries = [results[t.name] for t in trials([method]) if t.name in results]
    return sorted(entries, key=lambda e: -e["mean"])


def confirmations(results: dict[str, dict], method: str) -> list[Trial]:
    """The three best seed-0 trials of the method, to distil again on seed 1."""
    best = ranked(results, method)[:CONFIRMED]
    seed = CONFIRM_SEED
    return [Trial(f"{e['trial']}-seed{seed}", method, e["overrides"], seed, e["trial"]) for e in best]


def selection(results: dict[str, dict], method: str) -> tuple[dict | None, str]:
    """The selected trial and how it stands: "final" once all twelve seed-0 trials and the three
    confirmations exist (the highest mean over the two seeds), else "provisional" (seed 0 only).
    Means within TIE_POINTS of the best are tied: the cheapest wins, then the earlier trial."""
    grid = trials([method])
    seed0 = ranked(results, method)
    if not seed0:
        return None, "none"
    confirm = confirmations(results, method)
    final = len(seed0) == len(grid) and all(t.name in results for t in confirm)
    if final:
        scored = [
            (statistics.mean([results[t.repeats]["mean"], results[t.name]["mean"]]), results[t.repeats])
            for t in confirm
        ]
    else:
        scored = [(e["mean"], e) for e in seed0]
    best = max(score for score, _ in scored)
    order = {t.name: i for i, t in enumerate(grid)}
    tied = [e for score, e in scored if score >= best - TIE_POINTS]
    chosen = min(tied, key=lambda e: (e["cost"], order[e["trial"]]))
    return chosen, "final" if final else "provisional"


def report(output: Path) -> str:
    results = load_results(output)
    lines = []
    for method in GRIDS:
        entries = [results[t.name] for t in trials([method]) if t.name in results]
        if not entries:
            continue
        chosen, status = selection(results, method)
        lines += [
            f"\n{method} ({len(entries)} of {len(GRIDS[method])} trials; selection {status}: "
            f"{chosen['trial'] if chosen else '—'})",
            "| trial | knobs | val % seed 0 | val % seed 1 | learned lr | cost | distill s | selected |",
            "|---|---|---|---|---|---|---|---|",
        ]
        for entry in entries:
            again = results.get(f"{entry['trial']}-seed{CONFIRM_SEED}")
            knobs = ", ".join(f"{k}={format_value(v)}" for k, v in entry["overrides"].items()) or "preset"
            lr = entry["learned_lr"]
            lines.append(
                f"| {entry['trial']} | {knobs} | {mean_std(entry)} | {mean_std(again) if again else ''} | "
                f"{'' if lr is None else f'{lr:.4f}'} | {entry['cost']:,} | {entry['distill_wall_s']:.0f} | "
                f"{'**yes**' if chosen is entry else ''} |"
            )
    if lines:
        lines.append(
            f"\nval %: mean ± std (ddof 0) over the {NETWORKS} evaluation networks of one buffer "
            "(validation split); cost: the rule's tie-break (TM: iterations × syn_steps; DM, DSA: "
            "iterations × batch_real)."
        )
    return "\n".join(lines)


def mean_std(entry: dict) -> str:
    values = [100 * a for a in entry["val_accuracy"]]
    return f"{statistics.mean(values):.2f} ± {statistics.pstdev(values):.2f}"


def selected_specs(output: Path, methods: list[str]) -> list[str]:
    """The selected spec of each method (its trial's knobs on the method's name); an error unless final."""
    results = load_results(output)
    specs = []
    for method in methods:
        chosen, status = selection(results, method)
        if status != "final":
            raise SystemExit(f"{method}: the selection is {status}; run `run` and `confirm` first")
        specs.append(Trial(chosen["trial"], method, chosen["overrides"]).spec)
    return specs


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("command", nargs="?", default="run", choices=("run", "confirm", "report", "selected"))
    parser.add_argument("--methods", default=",".join(GRIDS), help="comma-separated: tm, dm, dsa")
    parser.add_argument("--trials", type=int, default=None, help="only the first N trials of each grid")
    parser.add_argument("--only", default="", help="comma-separated trial names, e.g. tm-03,dm-07")
    parser.add_argument("--dataset", default="fashion_mnist")
    parser.add_argument("--profile", default="quick")
    parser.add_argument("--output", type=Path, default=Path("studies/fair-search-data"))
    parser.add_argument("--cache", type=Path, default=Path("results/studies/fair-search"))
    parser.add_argument("--threads", type=int, default=1, help="torch threads of this process")
    args = parser.parse_args(argv)
    methods = [m for m in args.methods.split(",") if m]
    unknown = [m for m in methods if m not in GRIDS]
    if unknown:
        print(f"error: unknown method {unknown[0]!r}; choose from {', '.join(GRIDS)}", file=sys.stderr)
        return 2
    if args.command == "report":
        print(report(args.output))
        return 0
    if args.command == "selected":
        print(",".join(selected_specs(args.output, methods)))
        return 0
    torch.set_num_threads(args.threads)
    search = Search(args.output, args.cache, args.dataset, args.profile)
    if args.command == "confirm":
        results = load_results(args.output)
        missing = [t.name for t in trials(methods) if t.name not in results]
        if missing:
            print(f"error: confirm needs every seed-0 trial; missing {', '.join(missing)}", file=sys.stderr)
            return 2
        chosen = [t for m in methods for t in confirmations(results, m)]
    else:
        chosen = trials(methods, args.trials)
        only = {name for name in args.only.split(",") if name}
        if only:
            chosen = [t for t in chosen if t.name in only]
    for trial in chosen:
        search.run(trial)
    print(report(args.output))
    return 0


if __name__ == "__main__":
    sys.exit(main())
