"""SPEED against its baselines at converged schedules (issue 24): curves on the validation split.

Each trial is one long distillation at Fashion-MNIST IPC 1 (distillation seed 0 unless the trial
names another; quick profile objective settings; quick experts: 4 ConvNet-32 × 6 epochs on 200
images per class); the buffer is saved at every snapshot iteration and each snapshot trains
``REPEATS`` fresh ConvNet-128s with the quick standard recipe (300 epochs, per-sample DSA, lr = the
buffer's learned lr or 0.01), measured on the **validation** split (6,000 held-out training images;
the test split is never read here).
Evaluation seeds are shared by every trial and snapshot (repeat r uses the same network init and
batch order everywhere), so differences between points are paired.

Resumable: distillations checkpoint every few minutes, snapshots and results are files; a re-run
skips what exists. Run trials in parallel processes with disjoint ``--trials``.

    python studies/speed_convergence.py run [--trials a,b] [--output results/studies/convergence]
    python studies/speed_convergence.py report [--output …]   # tables (Markdown) and the figure
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch

from benchmark.budget import Budget
from benchmark.buffer import Buffer
from benchmark.data import DatasetOptions, load_dataset
from benchmark.seeding import derive_seed
from benchmark.spec import canonical, parse_spec
from benchmark.strategy import FitContext, resolve, strategy_class
from benchmark.training.evaluate import train_and_test
from benchmark.training.job import EvaluationJob, TrainingSet
from benchmark.training.recipe import EvalRecipe

DATASET, IPC, SEED, REPEATS = "fashion_mnist", 1, 0, 2
RECIPE = EvalRecipe(epochs=300, lr=0.01, dsa="auto")  # the quick profile's standard ConvNet recipe
CURVE = (300, 1000, 3000)

# name → (spec, snapshot iterations). Specs are resolved in the quick profile.
TRIALS: dict[str, tuple[str, tuple[int, ...]]] = {
    # 1. SPEED × TM: the published settings from noise (SGD 0.95, lr 10/100/0.01, dense codes with
    #    top-k at export, student momentum 0.9, α momentum 0.95), and from the real-image fit with
    #    top-k in the forward pass (the quick default before this study); pixel TM.
    "speed-tm-noise": ("speed:init=noise:sparsify=export", CURVE),
    "speed-tm-real": ("speed:init=real:sparsify=forward", CURVE),
    "tm": ("tm", (150, *CURVE)),
    # 3. SPEED × DM: Adam 3e-3 (the quick default), and the published SGD rates on a normalised loss;
    #    pixel DM.
    "speed-dm-adam": ("speed:objective=dm", CURVE),
    "speed-dm-sgd": (
        "speed:objective=dm:normalize=true:optimizer=sgd:momentum=0.95:lr_saet=10:lr_scm=100:lr_freenet=0.01",
        CURVE,
    ),
    "dm": ("dm", (200, *CURVE)),
}
# 2. The Fashion-MNIST architecture at IPC 1 (budget 7,840), from the real-image fit at the schedule
#    where that arm has converged (300 iterations): codes per patch and the share of shared parts
#    moved toward the published regime (≈ 1.5 codes per patch, ≈ 17 % shared, density < 5 %).
ARCHITECTURES = {
    "A": (24, 16, 2, 12, 4),  # the quick default: 0.49 codes per patch, 34 % shared, 14 images a class
    "B": (16, 16, 2, 36, 4),  # the published regime: 1.47 codes per patch, 18 % shared, 5 a class
    "C": (16, 16, 1, 24, 7),  # patch 7, one head: 1.5 codes per patch, 25 % shared, 16 a class
    "D": (16, 16, 2, 12, 7),  # patch 7, two heads: 1.5 codes per patch, 25 % shared, 16 a class
    "E": (24, 16, 2, 24, 4),  # halfway: 0.98 codes per patch, 34 % shared, 7 a class
    "H": (12, 12, 2, 36, 4),  # leaner shared parts: 1.47 codes per patch, 11 % shared, 6 a class
}
for _name, (_d, _k, _h, _nz, _p) in ARCHITECTURES.items():
    if _name == "A":  # the quick default: trial speed-tm-real's 300-iteration snapshot is this point
        continue
    TRIALS[f"arch-{_name}"] = (
        f"speed:init=real:sparsify=forward:dim={_d}:tokens={_k}:heads={_h}:k={_nz}:depth=1:patch={_p}",
        (300,),
    )
# A second distillation seed of the three architectures the first seed could not separate (A, D, H);
# the same specs as their seed-0 points, so each pair differs only in the distillation seed.
SECOND_SEED = 1
TRIAL_SEEDS: dict[str, int] = {}
for _name in ("A", "D", "H"):
    _spec = TRIALS["speed-tm-real"][0] if _name == "A" else TRIALS[f"arch-{_name}"][0]
    TRIALS[f"arch-{_name}-seed{SECOND_SEED}"] = (_spec, (300,))
    TRIAL_SEEDS[f"arch-{_name}-seed{SECOND_SEED}"] = SECOND_SEED


def trial_iterations(snapshots: tuple[int, ...]) -> int:
    return max(snapshots)


class Study:
    def __init__(self, output: Path, until: int | None = None):
        self.output = output
        self.until = until  # snapshots after this iteration are left for a later process
        self.results_path = output / "results.jsonl"
        self.data = load_dataset(DATASET, DatasetOptions(cache_dir=output))
        self.budget = Budget(IPC, len(self.data.classes), self.data.image_shape)

    # ---- results ---------------------------------------------------------------------------
    def results(self) -> list[dict]:
        if not self.results_path.exists():
            return []
        return [json.loads(line) for line in self.results_path.read_text().splitlines() if line.strip()]

    def done(self) -> set[tuple[str, int, int]]:
        return {(r["trial"], r["iteration"], r["repeat"]) for r in self.results()}

    def append(self, entry: dict) -> None:
        print(json.dumps(entry), flush=True)
        with self.results_path.open("a") as handle:
            handle.write(json.dumps(entry) + "\n")

    # ---- one trial ------------------------------------------------------------------------------
    def snapshot_path(self, trial: str, iteration: int) -> Path:
        return self.output / "trials" / trial / f"snapshot_{iteration:06d}.safetensors"

    def run(self, trial: str) -> None:
        spec, snapshots = TRIALS[trial]
        if self.until is not None:
            snapshots = tuple(n for n in snapshots if n <= self.until) or snapshots[:1]
        resolved = resolve(parse_spec(spec), "quick", DATASET, IPC)
        config = dict(resolved.config, iterations=trial_iterations(snapshots))
        done = self.done()
        seed = TRIAL_SEEDS.get(trial, SEED)
        missing = [n for n in snapshots if not self.snapshot_path(trial, n).is_file()]
        start = time.perf_counter()

        def on_snapshot(iteration: int, buffer: Buffer) -> None:
            path = self.snapshot_path(trial, iteration)
            if not path.is_file():
                data = self.data
                buffer.manifest |= {
                    "spec": canonical(resolved.name, config), "strategy": resolved.name,
                    "dataset": DATASET, "preprocessing": data.preprocessing, "mean": list(data.mean),
                    "std": list(data.std), "ipc": IPC, "seed": seed, "iteration": iteration,
                    "classes": list(data.classes), "image_shape": list(data.image_shape),
                    "distill_wall_s_this_process": round(time.perf_counter() - start, 1),
                }  # fmt: skip
                buffer.save(path)
            self.evaluate(trial, iteration, done)

        if missing:
            context = FitContext(
                cache_root=self.output,
                show_progress=False,
                checkpoint_path=self.output / "trials" / trial / "checkpoint.pt",
                checkpoint_every_s=300.0,
                snapshot_at=tuple(snapshots),
                on_snapshot=on_snapshot,
            )
            strategy_class(resolved.name)(config).fit(self.data, self.budget, seed, context)
            context.checkpoint_path.unlink(missing_ok=True)
        for iteration in snapshots:  # snapshots from an earlier process still to evaluate
            self.evaluate(trial, iteration, done)

    def evaluate(self, trial: str, iteration: int, done: set) -> None:
        buffer = Buffer.load(self.snapshot_path(trial, iteration))
        training = TrainingSet.of(buffer)
        for repeat in range(REPEATS):
            if (trial, iteration, repeat) in done:
                continue
            begin = time.perf_counter()
            seed = derive_seed("convergence-study", repeat)
            _, accuracy = train_and_test(
                EvaluationJob("ConvNet", self.data, training, RECIPE, seed, self.data.val)
            )
            self.append(
                {
                    "trial": trial,
                    "spec": buffer.manifest.get("spec") or buffer.manifest["strategy"],
                    "iteration": iteration,
                    "repeat": repeat,
                    "val_accuracy": accuracy,
                    "images": len(training.images),
                    "storage": buffer.storage,
                    "learned_lr": training.lr,
                    "distill_wall_s_this_process": buffer.manifest.get("distill_wall_s_this_process"),
                    "evaluate_s": round(time.perf_counter() - begin, 1),
                    "threads": torch.get_num_threads(),
                }
            )
            done.add((trial, iteration, repeat))


# ---- report -------------------------------------------------------------------------------------


def report(output: Path) -> str:
    study = Study.__new__(Study)
    study.results_path = output / "results.jsonl"
    rows: dict[str, dict[int, list[float]]] = {}
    for r in study.results():
        rows.setdefault(r["trial"], {}).setdefault(r["iteration"], []).append(100 * r["val_accuracy"])
    iterations = sorted({n for points in rows.values() for n in points})
    lines = [
        "| trial | " + " | ".join(str(n) for n in iterations) + " |",
        "|---|" + "---|" * len(iterations),
    ]
    for trial, points in rows.items():
        cells = []
        for n in iterations:
            values = points.get(n)
            cells.append(" / ".join(f"{v:.1f}" for v in values) if values else "")
        lines.append(f"| {trial} | " + " | ".join(cells) + " |")
    _figure(rows, output / "convergence.svg")
    return "\n".join(lines)


def _figure(rows: dict[str, dict[int, list[float]]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plt.rcParams["svg.fonttype"] = "none"  # editable text
    fig, ax = plt.subplots(figsize=(6.5, 4))
    for trial, points in rows.items():
        if len(points) < 2:  # architecture points are one schedule each: in the table, not the curves
            continue
        xs = sorted(points)
        means = [sum(points[n]) / len(points[n]) for n in xs]
        ax.plot(xs, means, marker="o", label=trial)
        for n in xs:
            ax.scatter([n] * len(points[n]), points[n], s=8, alpha=0.4, color=ax.lines[-1].get_color())
    ax.set_xscale("log")
    ax.set_xlabel("distillation iterations")
    ax.set_ylabel("validation accuracy (%), ConvNet-128")
    ax.set_title("Fashion-MNIST IPC 1: accuracy against iterations (2 networks per point)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=("run", "report"))
    parser.add_argument("--trials", default=",".join(TRIALS), help="comma-separated trial names")
    parser.add_argument("--output", type=Path, default=Path("results/studies/convergence"))
    parser.add_argument("--threads", type=int, default=1, help="torch threads of this process")
    parser.add_argument(
        "--until", type=int, default=None, help="stop each trial at its last snapshot ≤ this iteration"
    )
    args = parser.parse_args()
    args.output.mkdir(parents=True, exist_ok=True)
    if args.command == "report":
        print(report(args.output))
        return
    torch.set_num_threads(args.threads)
    study = Study(args.output, args.until)
    for trial in [t for t in args.trials.split(",") if t]:
        if trial not in TRIALS:
            raise SystemExit(f"unknown trial {trial!r}; choose from {', '.join(TRIALS)}")
        study.run(trial)


if __name__ == "__main__":
    main()
