"""The command line: list, plan, distill, evaluate, run, show, and commands plugins add.

Heavy modules (torch, pandas) are imported inside the commands, so ``--help`` stays fast.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from benchmark.errors import BenchmarkError
from benchmark.plugins import load_entry_point_plugins, load_plugin_file


def comma_list(kind):
    def parse(text: str):
        try:
            return [kind(part) for part in text.split(",") if part.strip()]
        except ValueError as error:
            raise argparse.ArgumentTypeError(
                f"{text!r} is not a comma-separated list of {kind.__name__}"
            ) from error

    return parse


def add_common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--profile", default="quick", help="quick (CPU default) or paper")
    parser.add_argument("--output-dir", type=Path, default=Path("results"), help="records, buffers, caches")
    parser.add_argument("--device", default="auto", help="auto, cpu or cuda")
    parser.add_argument(
        "--compile",
        default="auto",
        choices=["auto", "on", "off"],
        help="torch.compile evaluation training (auto: on CPU for long trainings)",
    )
    parser.add_argument("--data-root", type=Path, default=None, help="folder holding the dataset files")
    parser.add_argument("--download", action="store_true", help="download datasets with torchvision")
    parser.add_argument("--no-progress", action="store_true", help="hide progress bars")


def build_parser(argv: list[str]) -> argparse.ArgumentParser:
    """The parser; a plugin's command or planner module is imported only when it is invoked."""
    from benchmark.registries import COMMANDS, PLANNERS

    words = _positionals(argv)

    parser = argparse.ArgumentParser(
        prog="python -m benchmark", description="Dataset distillation under storage budgets."
    )
    parser.add_argument("--plugin", action="append", default=[], help="a .py file registering entries")
    commands = parser.add_subparsers(dest="command", required=True)

    commands.add_parser("list", help="list strategies, datasets, networks, suites, profiles, …")

    plan = commands.add_parser("plan", help="plan a parameterization's storage within a budget")
    plan_kinds = plan.add_subparsers(dest="planner", required=True)
    for name in PLANNERS.names():
        sub = plan_kinds.add_parser(name, help=_help_text(PLANNERS.describe(name)))
        if words[:2] == ["plan", name]:
            PLANNERS.get(name).add_arguments(sub)

    run = commands.add_parser("run", help="run a suite: distill what is missing, evaluate, write records")
    run.add_argument("--suite", default="standard")
    run.add_argument("--dataset", type=comma_list(str), dest="datasets")
    run.add_argument("--strategies", help="comma-separated specs, e.g. random,speed:objective=dm")
    run.add_argument("--ipc", type=comma_list(int), dest="ipcs")
    run.add_argument("--seeds", type=comma_list(int), help="distillation seeds")
    run.add_argument("--networks", type=comma_list(str))
    run.add_argument("--repeats", type=int, help="evaluation networks per buffer")
    run.add_argument("--class-orders", type=comma_list(int), help="continual class-order seeds")
    run.add_argument("--steps", type=int, help="continual steps")
    run.add_argument("--eval-recipe", choices=("suite", "original"), default="suite")
    run.add_argument("--executor", default="local", help="local (default) or ray")
    run.add_argument("--address", dest="ray_address", help="Ray cluster (default: a local one)")
    run.add_argument("--cpus-per-cell", type=int, default=1, help="CPUs (and torch threads) per Ray task")
    run.add_argument("--gpus-per-cell", type=float, default=0.0, help="GPUs per Ray task")
    run.add_argument("--force", action="store_true", help="redo finished work")
    run.add_argument("--retry-failed", action="store_true", help="retry cells recorded as failed")
    add_common(run)

    distill = commands.add_parser("distill", help="distill one buffer and save it")
    distill.add_argument("--dataset", default="fashion_mnist")
    distill.add_argument("--strategy", required=True, help="a spec, e.g. speed:objective=dm")
    distill.add_argument("--ipc", type=int, required=True)
    distill.add_argument("--seed", type=int, default=0)
    add_common(distill)

    evaluate = commands.add_parser("evaluate", help="train fresh networks on a saved buffer")
    evaluate.add_argument("buffer", type=Path)
    evaluate.add_argument("--network", default="ConvNet")
    evaluate.add_argument("--repeats", type=int, default=1)
    evaluate.add_argument("--suite", default="standard", help="whose recipe to use")
    evaluate.add_argument(
        "--split", choices=("test", "val"), default="test", help="val for tuning; test only for reporting"
    )
    evaluate.add_argument(
        "--standardize",
        action="store_true",
        help="standardise every batch by its own mean/std (the SPEED and HaBa codes' evaluation)",
    )
    evaluate.add_argument(
        "--preprocessing",
        choices=("meanstd", "zca"),
        default=None,
        help="the data's preprocessing (default: the one the buffer was made with; another is an error)",
    )
    add_common(evaluate)

    show = commands.add_parser("show", help="print recorded results")
    show.add_argument("--suite", default=None)
    show.add_argument("--profile", default=None)
    show.add_argument("--format", choices=("table", "csv", "json"), default="table")
    show.add_argument("--output-dir", type=Path, default=Path("results"))

    for name in COMMANDS.names():
        sub = commands.add_parser(name, help=_help_text(COMMANDS.describe(name)))
        if words[:1] == [name]:
            COMMANDS.get(name).add_arguments(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    try:
        for path in _plugin_paths(argv):
            load_plugin_file(path)
        load_entry_point_plugins()
        args = build_parser(argv).parse_args(argv)
        return dispatch(args)
    except BenchmarkError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted; finished records are kept, re-run to resume", file=sys.stderr)
        return 130


def _help_text(description: str) -> str:
    """A registry description as argparse help: a literal % (e.g. "95 %") would start a format."""
    return description.replace("%", "%%")


def _positionals(argv: list[str]) -> list[str]:
    """The words of ``argv`` that are not options (the command, a planner's name, …)."""
    words, skip = [], False
    for arg in argv:
        if skip:
            skip = False
        elif arg == "--plugin":
            skip = True
        elif not arg.startswith("-"):
            words.append(arg)
    return words


def _plugin_paths(argv: list[str]) -> list[str]:
    """``--plugin`` files must be loaded before the parser is built (they may add commands)."""
    paths = []
    for i, arg in enumerate(argv):
        if arg == "--plugin" and i + 1 < len(argv):
            paths.append(argv[i + 1])
        elif arg.startswith("--plugin="):
            paths.append(arg.split("=", 1)[1])
    return paths


def dispatch(args: argparse.Namespace) -> int:
    from benchmark.registries import COMMANDS, PLANNERS

    if args.command == "plan":
        return PLANNERS.get(args.planner).run(args)
    if args.command in COMMANDS:
        return COMMANDS.get(args.command).run(args)
    return {
        "list": cmd_list,
        "run": cmd_run,
        "distill": cmd_distill,
        "evaluate": cmd_evaluate,
        "show": cmd_show,
    }[args.command](args)


def cmd_list(args: argparse.Namespace) -> int:
    from benchmark import registries
    from benchmark.profiles import load_profile, profile_names

    for title, registry in (
        ("strategies", registries.STRATEGIES),
        ("datasets", registries.DATASETS),
        ("networks", registries.NETWORKS),
        ("suites", registries.SUITES),
        ("objectives", registries.OBJECTIVES),
        ("parameterizations", registries.PARAMETERIZATIONS),
        ("executors", registries.EXECUTORS),
    ):
        print(f"{title}:")
        for name in registry.names():
            print(f"  {name:<22} {registry.describe(name)}")
    print("profiles:")
    for name in profile_names():
        print(f"  {name:<22} {load_profile(name).description}")
    return 0


def run_options(args: argparse.Namespace):
    from benchmark.suites.options import RunOptions

    return RunOptions(
        suite=args.suite,
        profile=args.profile,
        datasets=args.datasets,
        strategies=[s for s in args.strategies.split(",") if s.strip()] if args.strategies else None,
        ipcs=args.ipcs,
        seeds=args.seeds,
        networks=args.networks,
        repeats=args.repeats,
        class_orders=args.class_orders,
        steps=args.steps,
        eval_recipe=args.eval_recipe,
        output_dir=args.output_dir,
        device=args.device,
        compile=args.compile,
        data_root=args.data_root,
        download=args.download,
        force=args.force,
        retry_failed=args.retry_failed,
        show_progress=not args.no_progress,
        executor=args.executor,
        ray_address=args.ray_address,
        cpus_per_cell=args.cpus_per_cell,
        gpus_per_cell=args.gpus_per_cell,
    )


def cmd_run(args: argparse.Namespace) -> int:
    from benchmark.runner import run

    table = run(run_options(args))
    print(table.to_string() if not table.empty else "no records")
    return 0


def _bench(args: argparse.Namespace, **overrides):
    from benchmark.profiles import load_profile
    from benchmark.suites.options import RunOptions
    from benchmark.suites.workbench import Workbench

    options = RunOptions(
        profile=args.profile,
        output_dir=args.output_dir,
        device=args.device,
        compile=args.compile,
        data_root=args.data_root,
        download=args.download,
        show_progress=not args.no_progress,
        **overrides,
    )
    return Workbench(options, load_profile(args.profile))


def cmd_distill(args: argparse.Namespace) -> int:
    bench = _bench(args)
    resolved = bench.resolve(args.strategy, args.dataset, args.ipc)
    data = bench.data(args.dataset, bench.profile.preprocessing(None, args.dataset))
    outcome = bench.obtain_buffer(data, resolved, args.ipc, args.seed)
    if outcome.status != "ok":
        print(f"{resolved.canonical}: {outcome.status}: {outcome.error}", file=sys.stderr)
        return 1
    path = bench.store.buffer_path(resolved.name, outcome.key)
    budget = f"{outcome.budget.floats}" if outcome.budget else "unbudgeted"
    print(f"{resolved.canonical}\nstorage {outcome.storage:g} / budget {budget} float32-equivalents\n{path}")
    return 0


def cmd_evaluate(args: argparse.Namespace) -> int:
    import statistics
    from dataclasses import replace

    from benchmark.buffer import Buffer
    from benchmark.seeding import derive_seed
    from benchmark.training.evaluate import evaluate_images

    bench = _bench(args)
    buffer = Buffer.load(args.buffer)
    preprocessing = args.preprocessing or buffer.manifest.get("preprocessing", "meanstd")
    data = bench.data(buffer.manifest["dataset"], preprocessing)
    buffer.check_data(data)
    data = data.restricted_to(buffer.manifest["classes"])
    images, labels, lr = buffer.materialize(bench.device)
    recipe = bench.profile.recipe(args.suite, args.network)
    if args.standardize:
        recipe = replace(recipe, standardize=True)
    accuracies = []
    for repeat in range(args.repeats):
        seed = derive_seed(buffer.manifest["sha256"], repeat)
        _, accuracy = evaluate_images(
            args.network, data, images, labels, lr, recipe, seed, bench.device, getattr(data, args.split),
            not args.no_progress, compile_mode=args.compile,
        )  # fmt: skip
        accuracies.append(accuracy)
        print(f"repeat {repeat}: {args.split} accuracy {100 * accuracy:.2f} %")
    if len(accuracies) > 1:
        print(f"mean {100 * statistics.mean(accuracies):.2f} ± {100 * statistics.pstdev(accuracies):.2f} %")
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    from benchmark.registries import SUITES
    from benchmark.results.store import ResultStore
    from benchmark.results.tables import long_frame, summary_table

    store = ResultStore(args.output_dir)
    records = [r for r in store.records(args.suite) if args.profile in (None, r["config"]["profile"])]
    frame = long_frame(records)
    if args.format == "csv":
        frame.to_csv(sys.stdout, index=False)
    elif args.format == "json":
        print(json.dumps(json.loads(frame.to_json(orient="records")), indent=1))
    elif frame.empty:
        print("no records")
    else:
        for (suite, profile), part in frame.groupby(["suite", "profile"]):
            suite_cls = SUITES.get(suite) if suite in SUITES else None
            rows = suite_cls.table_rows if suite_cls else ["dataset", "strategy", "ipc"]
            columns = suite_cls.table_columns if suite_cls else ["network"]
            print(f"\n== {suite} ({profile}) ==")
            print(summary_table(part, rows, columns).to_string())
    return 0
