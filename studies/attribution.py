"""Where SPEED × TM's lead over pixel TM comes from (issue 35): its optimizer settings, its learned
evaluation lr, its real-image fit.

SPEED × TM and pixel TM differ in more than the parameterization: SPEED × TM's student momentum is
0.9 and α's momentum 0.95 (pixel TM: 0 and 0.5, as MTT publishes), which leaves it a larger learned
evaluation lr; and it fits its codes to real images for 300 steps before its iterations. Each arm
below swaps one of these; every buffer is evaluated at its learned lr and at one common fixed lr
(``FIXED_LR``, the learned lr ignored), on the **validation** split (never test), distillation seeds
0 and 1, with the fair search's evaluation (studies/fair_search.py: the standard suite's recipe of
the profile, 2 networks with the SPEED selection's evaluation seeds).

Resumable: one JSON per arm and seed under ``--output``, buffers under ``--cache``.

    python studies/attribution.py run [--arms tm,speed,…] [--seeds 0,1]
    python studies/attribution.py report
    python studies/attribution.py run --dataset digits --profile smoke --arms tm --seeds 0   # seconds
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import torch
from fair_search import Search, Trial

from benchmark.results.record import git_commit
from benchmark.spec import parse_spec
from benchmark.strategy import resolve

SEEDS = (0, 1)
# The suite's recipe lr: every buffer without a learned lr (random, DM, DSA) already trains at it,
# and it is α's initial value in both TM and SPEED × TM.
FIXED_LR = 0.01

# arm → (method, overrides): each swaps one difference between pixel TM and SPEED × TM
ARMS: dict[str, tuple[str, dict]] = {
    "tm": ("tm", {}),  # pixel TM, MTT's optimizer: student momentum 0, α momentum 0.5
    "tm-speed-optimizer": ("tm", {"student_momentum": 0.9, "momentum_lr": 0.95}),
    "tm-300": ("tm", {"iterations": 300}),  # SPEED × TM's number of iterations
    "speed": ("speed", {}),  # SPEED × TM: student momentum 0.9, α momentum 0.95
    "speed-mtt-optimizer": ("speed", {"student_momentum": 0.0, "momentum_lr": 0.5}),
    "speed-fit-only": ("speed", {"iterations": 0}),  # the real-image fit alone
}
MODES = ("learned", "fixed")


def run_arm(search: Search, output: Path, arm: str, seed: int) -> dict:
    """Distil the arm's buffer for ``seed`` (once) and evaluate it in each lr mode not yet recorded."""
    path = output / f"{arm}-seed{seed}.json"
    entry = json.loads(path.read_text()) if path.is_file() else {}
    if all(mode in entry for mode in MODES):
        return entry
    method, overrides = ARMS[arm]
    trial = Trial(f"{arm}-seed{seed}", method, overrides, seed)
    resolved = resolve(parse_spec(trial.spec), search.profile, search.dataset, 1)
    buffer, wall, process = search.distill(trial, resolved)
    entry |= {
        "arm": arm, "spec": resolved.canonical, "dataset": search.dataset, "profile": search.profile,
        "ipc": 1, "distill_seed": seed, "split": "val", "network": "ConvNet",
        "learned_lr": buffer.materialize()[2], "storage": buffer.storage, "distill_wall_s": wall,
        "distill_process_s": process, "threads": torch.get_num_threads(), "git_commit": git_commit(),
    }  # fmt: skip
    recipes = {"learned": search.recipe, "fixed": replace(search.recipe, lr=FIXED_LR, use_buffer_lr=False)}
    for mode in MODES:
        if mode in entry:
            continue
        accuracies, lr, seconds = search.evaluate(buffer, recipes[mode])
        entry[mode] = {
            "val_accuracy": accuracies, "eval_lr": lr, "recipe": recipes[mode].describe(),
            "evaluate_s": seconds, "created": datetime.now(UTC).isoformat(timespec="seconds"),
        }  # fmt: skip
        output.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(entry, indent=1) + "\n")
    print(
        f"{arm} seed {seed}: validation {100 * statistics.mean(entry['learned']['val_accuracy']):.2f} % at "
        f"its learned lr, {100 * statistics.mean(entry['fixed']['val_accuracy']):.2f} % at {FIXED_LR}",
        flush=True,
    )
    return entry


# (label, arm, reference arm): each difference isolates one way SPEED × TM differs from pixel TM
CONTRASTS = (
    ("the gap: SPEED × TM − pixel TM", "speed", "tm"),
    ("SPEED's optimizer on pixels: tm-speed-optimizer − tm", "tm-speed-optimizer", "tm"),
    ("SPEED's optimizer in SPEED: speed − speed-mtt-optimizer", "speed", "speed-mtt-optimizer"),
    ("SPEED's 300 iterations on pixels: tm-300 − tm", "tm-300", "tm"),
    ("the iterations after the fit: speed − speed-fit-only", "speed", "speed-fit-only"),
    ("the real-image fit alone against pixel TM: speed-fit-only − tm", "speed-fit-only", "tm"),
)


def paired(entries: dict, arm: str, reference: str, mode: str) -> dict[int, list[float]]:
    """Per distillation seed, the differences in points between ``arm`` and ``reference`` evaluated by
    the same evaluation network (the networks' seeds are shared by every arm)."""
    seeds = sorted({s for a, s in entries if a == arm} & {s for a, s in entries if a == reference})
    accuracies = {
        seed: (entries[arm, seed][mode]["val_accuracy"], entries[reference, seed][mode]["val_accuracy"])
        for seed in seeds
    }
    return {seed: [100 * (x - y) for x, y in zip(*pair, strict=True)] for seed, pair in accuracies.items()}


def report(output: Path) -> str:
    found = [json.loads(p.read_text()) for p in sorted(output.glob("*.json"))]
    complete = [e for e in found if all(m in e for m in MODES)]
    lines = [
        f"| arm | seeds | val % at the learned lr | val % at lr {FIXED_LR} | learned lr |",
        "|---|---|---|---|---|",
    ]
    for arm in ARMS:
        mine = [e for e in complete if e.get("arm") == arm]
        if not mine:
            continue
        cells = []
        for mode in MODES:
            values = [100 * a for e in mine for a in e[mode]["val_accuracy"]]
            cells.append(f"{statistics.mean(values):.2f} ± {statistics.pstdev(values):.2f}")
        lrs = ", ".join(f"{e['learned_lr']:.4f}" if e["learned_lr"] is not None else "—" for e in mine)
        seeds = ", ".join(str(e["distill_seed"]) for e in mine)
        lines.append(f"| {arm} | {seeds} | {cells[0]} | {cells[1]} | {lrs} |")
    lines.append(
        "\nval %: mean ± std (ddof 0) over the evaluation networks of the arm: seeds × 2 networks "
        "(validation split)."
    )
    entries = {(e["arm"], e["distill_seed"]): e for e in complete}
    rows = []
    for label, arm, reference in CONTRASTS:
        cells = []
        for mode in MODES:
            by_seed = paired(entries, arm, reference, mode)
            if not by_seed:
                break
            every = [d for differences in by_seed.values() for d in differences]
            per_seed = ", ".join(f"{statistics.mean(d):+.2f}" for d in by_seed.values())
            cells.append(f"{statistics.mean(every):+.2f} (per seed {per_seed})")
        if len(cells) == len(MODES):
            rows.append(f"| {label} | {cells[0]} | {cells[1]} |")
    if rows:
        lines += [
            "",
            f"| difference, points | at the learned lr | at lr {FIXED_LR} |",
            "|---|---|---|",
            *rows,
            "\nDifferences paired by distillation seed and evaluation network (validation split); the mean "
            "over all pairs, then each seed's mean. Two seeds: no interval is claimed.",
        ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("command", nargs="?", default="run", choices=("run", "report"))
    parser.add_argument("--arms", default=",".join(ARMS), help=f"comma-separated: {', '.join(ARMS)}")
    parser.add_argument("--seeds", default=",".join(map(str, SEEDS)), help="distillation seeds")
    parser.add_argument("--dataset", default="fashion_mnist")
    parser.add_argument("--profile", default="quick")
    parser.add_argument("--output", type=Path, default=Path("studies/attribution-data"))
    parser.add_argument(
        "--cache",
        type=Path,
        default=Path("results/studies/fair-search"),
        help="buffers and experts (default: the search's, whose quick experts TM reuses)",
    )
    parser.add_argument("--threads", type=int, default=1, help="torch threads of this process")
    args = parser.parse_args(argv)
    if args.command == "report":
        print(report(args.output))
        return 0
    arms = [a for a in args.arms.split(",") if a]
    unknown = [a for a in arms if a not in ARMS]
    if unknown:
        print(f"error: unknown arm {unknown[0]!r}; choose from {', '.join(ARMS)}", file=sys.stderr)
        return 2
    torch.set_num_threads(args.threads)
    search = Search(args.output, args.cache, args.dataset, args.profile)
    for seed in (int(s) for s in args.seeds.split(",") if s):
        for arm in arms:
            run_arm(search, args.output, arm, seed)
    print(report(args.output))
    return 0


if __name__ == "__main__":
    sys.exit(main())
