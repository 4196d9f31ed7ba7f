"""How cost grows (issue 22): wall time and peak memory of distilling one buffer and of one
evaluation, per strategy and images-per-class budget, at Fashion-MNIST quick; and the Ray
executor's wall time on the quick standard suite with 1 and 2 CPUs per cell.

Every measurement is its own fresh process run through the command line (``distill``, then
``evaluate`` on the buffer it saved, one ConvNet-128 with the standard quick recipe), so its peak
resident memory (``wait4``'s ``ru_maxrss``) is that phase's alone. TM's expert trajectories are
trained first in a process of their own (one ``experts`` row), so distillation rows hold
distillation only. Results go to ``<output>/costs.json`` (a re-run skips what is there); ``report``
prints the Markdown table and least-squares fits of time and memory against the budget.

    python studies/cost_growth.py run [--strategies …] [--ipcs 1,10,50] [--evaluate-ipcs 1,10]
                                      [--output results/studies/cost]
    python studies/cost_growth.py ray [--output …]
    python studies/cost_growth.py report [--output …]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

DATASET = "fashion_mnist"
STRATEGIES = ["random", "dm", "tm", "speed", "speed:objective=dm"]
IPCS = [1, 10, 50]
EXPERTS = """
import sys
from benchmark.engine import Engine
from benchmark.options import EngineOptions
from benchmark.profiles import load_profile
from benchmark.registries import OBJECTIVES
from benchmark.strategy import FitContext
from pathlib import Path
engine = Engine(EngineOptions(output_dir=Path(sys.argv[1]), show_progress=False), load_profile("quick"))
resolved = engine.buffers.resolve(sys.argv[2], "fashion_mnist", 1)
data = engine.buffers.data("fashion_mnist", engine.profile.preprocessing("fashion_mnist"))
context = FitContext(device=engine.device, cache_root=engine.store.cache_root, show_progress=False)
OBJECTIVES.get("tm")(data, resolved.config, 0, context).expert_files()
"""


def timed(command: list[str]) -> tuple[float, float, str]:
    """(wall s, peak resident GiB, stdout) of one child process, waited for with ``wait4`` so the
    peak is that child's own; raises with the end of its stderr if it fails."""
    start = time.perf_counter()
    with tempfile.TemporaryFile("w+") as errors:
        child = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=errors, text=True)
        out = child.stdout.read()
        _, status, usage = os.wait4(child.pid, 0)
        wall = time.perf_counter() - start
        if os.waitstatus_to_exitcode(status) != 0:
            errors.seek(0)
            raise RuntimeError(f"{' '.join(command)} failed:\n{errors.read()[-2000:]}")
    return wall, usage.ru_maxrss / 2**20, out


def cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "benchmark", *args]


def load(path: Path) -> dict:
    return json.loads(path.read_text()) if path.exists() else {}


def save(path: Path, costs: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(costs, indent=1, sort_keys=True))


def row(wall: float, peak: float) -> dict:
    return {"wall_s": round(wall, 2), "peak_gib": round(peak, 3), "load": round(os.getloadavg()[0], 2),
            "threads": os.environ.get("OMP_NUM_THREADS", "default")}  # fmt: skip


def run(args: argparse.Namespace) -> None:
    out = Path(args.output)
    path = out / "costs.json"
    costs = load(path)
    if any(s in ("tm", "speed") for s in args.strategies) and "experts" not in costs:
        wall, peak, _ = timed([sys.executable, "-c", EXPERTS, str(out), "tm"])
        costs["experts"] = row(wall, peak)
        save(path, costs)
        print(f"experts: {costs['experts']}", flush=True)
    for ipc in args.ipcs:
        for strategy in args.strategies:
            key = f"{strategy} ipc={ipc}"
            if key in costs:
                continue
            common = ["--output-dir", str(out), "--no-progress"]
            wall, peak, printed = timed(
                cli("distill", "--dataset", DATASET, "--strategy", strategy, "--ipc", str(ipc), *common)
            )
            buffer = printed.strip().splitlines()[-1]
            costs[key] = {"strategy": strategy, "ipc": ipc, "distill": row(wall, peak), "evaluate": None}
            if args.evaluate_ipcs is None or ipc in args.evaluate_ipcs:
                wall, peak, _ = timed(cli("evaluate", buffer, "--network", "ConvNet", *common))
                costs[key]["evaluate"] = row(wall, peak)
            save(path, costs)
            print(f"{key}: {costs[key]}", flush=True)


def ray(args: argparse.Namespace) -> None:
    out = Path(args.output)
    path = out / "costs.json"
    costs = load(path)
    for cpus in (1, 2):
        key = f"ray quick standard cpus_per_cell={cpus}"
        if key in costs:
            continue
        wall, peak, _ = timed(cli(
            "run", "--suite", "standard", "--executor", "ray", "--cpus-per-cell", str(cpus),
            "--output-dir", str(out / f"ray-{cpus}"), "--no-progress",
        ))  # fmt: skip
        costs[key] = row(wall, peak)
        save(path, costs)
        print(f"{key}: {costs[key]}", flush=True)


def fit(ipcs: list[int], values: list[float]) -> str:
    """``a + b·ipc`` by least squares, and the log-log slope (1 = linear growth)."""
    x, y = np.array(ipcs, float), np.array(values, float)
    b, a = np.polyfit(x, y, 1)
    exponent = np.polyfit(np.log(x), np.log(y), 1)[0] if (y > 0).all() else float("nan")
    return f"{a:.3g} + {b:.3g}·ipc (log-log slope {exponent:.2f})"


def base(spec: str) -> str:
    """The strategy without a shortened schedule (``speed:iterations=30`` → ``speed``)."""
    return ":".join(part for part in spec.split(":") if not part.startswith("iterations="))


def report(args: argparse.Namespace) -> None:
    costs = load(Path(args.output) / "costs.json")
    print("| strategy | ipc | distill s | distill GiB | evaluate s | evaluate GiB |")
    print("|---|---|---|---|---|---|")
    cells = [c for c in costs.values() if "strategy" in c]
    for c in sorted(cells, key=lambda c: (STRATEGIES.index(base(c["strategy"])), c["ipc"])):
        d, e = c["distill"], c["evaluate"]
        evaluated = f"{e['wall_s']:.1f} | {e['peak_gib']:.2f}" if e else "not run | not run"
        print(f"| {c['strategy']} | {c['ipc']} | {d['wall_s']:.1f} | {d['peak_gib']:.2f} | {evaluated} |")
    print()
    for strategy in STRATEGIES:  # growth over the budgets measured at the strategy's own schedule
        for phase in ("distill", "evaluate"):
            mine = sorted(
                (c for c in cells if base(c["strategy"]) == strategy and c[phase]
                 and (phase == "evaluate" or c["strategy"] == strategy)),
                key=lambda c: c["ipc"],
            )  # fmt: skip
            if len(mine) < 2 or (strategy == "random" and phase == "distill"):
                continue
            ipcs = [c["ipc"] for c in mine]
            print(f"- {strategy} {phase} (ipc {', '.join(map(str, ipcs))}): time "
                  f"{fit(ipcs, [c[phase]['wall_s'] for c in mine])} s; memory "
                  f"{fit(ipcs, [c[phase]['peak_gib'] for c in mine])} GiB")  # fmt: skip
    for key, value in costs.items():
        if "strategy" not in value:
            print(f"- {key}: {value}")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("command", choices=["run", "ray", "report"])
    parser.add_argument("--strategies", type=lambda s: s.split(","), default=STRATEGIES)
    parser.add_argument("--ipcs", type=lambda s: [int(i) for i in s.split(",")], default=IPCS)
    parser.add_argument("--evaluate-ipcs", type=lambda s: [int(i) for i in s.split(",")], default=None,
                        help="evaluate only buffers of these budgets (default: all)")  # fmt: skip
    parser.add_argument("--output", default="results/studies/cost")
    args = parser.parse_args()
    {"run": run, "ray": ray, "report": report}[args.command](args)


if __name__ == "__main__":
    main()
