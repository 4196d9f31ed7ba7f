"""The harness's own commands: ``list``, ``run``, ``distill``, ``evaluate``, ``show``.

Registered in ``COMMANDS`` like the report's and the plugins' commands. ``run`` and ``show`` print
the same tables (:mod:`benchmark.report.tables`) the leaderboard renders, one vocabulary for all.
"""

from __future__ import annotations

import argparse
import json
import shlex
import statistics
import sys
from dataclasses import replace
from pathlib import Path

from benchmark.cli import add_common, comma_list, path_argument


def print_tables(tables) -> None:
    for table in tables:
        print(f"\n== {table.title} ==")
        print(table.frame().to_string())


class ListCommand:
    help = "list strategies, datasets, networks, suites, profiles, …"

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        pass

    def run(self, args: argparse.Namespace) -> int:
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
            ("commands", registries.COMMANDS),
        ):
            print(f"{title}:")
            for name in registry.names():
                print(f"  {name:<22} {registry.describe(name)}")
        print("profiles:")
        for name in profile_names():
            print(f"  {name:<22} {load_profile(name).description}")
        return 0


class RunCommand:
    help = "run a suite: distill what is missing, evaluate, write records"

    def add_arguments(self, run: argparse.ArgumentParser) -> None:
        from benchmark.registries import SUITES

        suites = ", ".join(SUITES.names())
        profile_default = "(default: the suite's setting for the profile)"
        run.add_argument("--suite", default="standard", help=f"the suite to run, one of: {suites}")
        run.add_argument(
            "--dataset",
            type=comma_list(str),
            dest="datasets",
            help=f"comma-separated datasets (see `list`) {profile_default}",
        )
        run.add_argument(
            "--strategies", help=f"comma-separated specs, e.g. random,speed:objective=dm {profile_default}"
        )
        run.add_argument(
            "--ipc",
            type=comma_list(int),
            dest="ipcs",
            help=f"images-per-class budgets, e.g. 1,10 {profile_default}",
        )
        run.add_argument(
            "--seeds", type=comma_list(int), help=f"distillation seeds, 0…2³²−1 {profile_default}"
        )
        run.add_argument(
            "--networks", type=comma_list(str), help=f"evaluation networks (see `list`) {profile_default}"
        )
        run.add_argument(
            "--repeats", type=int, help=f"evaluation networks per buffer and network {profile_default}"
        )
        run.add_argument(
            "--class-orders", type=comma_list(int), help=f"continual class-order seeds {profile_default}"
        )
        run.add_argument(
            "--steps", type=int, help=f"continual steps (must divide the classes) {profile_default}"
        )
        run.add_argument(
            "--eval-recipe",
            choices=("suite", "original"),
            default="suite",
            help="suite: one recipe for every strategy (decision 5); original: each method's published one",
        )
        run.add_argument("--executor", default="local", help="local (default) or ray")
        run.add_argument("--address", dest="ray_address", help="Ray cluster (default: a local one)")
        run.add_argument("--cpus-per-cell", type=int, default=1, help="CPUs (and torch threads) per Ray task")
        run.add_argument("--gpus-per-cell", type=float, default=0.0, help="GPUs per Ray task")
        run.add_argument("--force", action="store_true", help="redo finished work")
        run.add_argument("--retry-failed", action="store_true", help="retry cells recorded as failed")
        add_common(run)

    def run(self, args: argparse.Namespace) -> int:
        from benchmark.errors import UserInputError
        from benchmark.options import RunOptions, check_range
        from benchmark.runner import run

        check_range("--cpus-per-cell", args.cpus_per_cell, 1, 4096)
        check_range("--gpus-per-cell", args.gpus_per_cell, 0, 64)
        ray_only = args.ray_address or args.cpus_per_cell != 1 or args.gpus_per_cell != 0
        if args.executor == "local" and ray_only:
            raise UserInputError(
                "--address, --cpus-per-cell and --gpus-per-cell are for --executor ray; add it or drop them"
            )

        options = RunOptions(
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
            precision=args.precision,
            data_root=args.data_root,
            download=args.download,
            force=args.force,
            retry_failed=args.retry_failed,
            show_progress=not args.no_progress,
            executor=args.executor,
            ray_address=args.ray_address,
            cpus_per_cell=args.cpus_per_cell,
            gpus_per_cell=args.gpus_per_cell,
            plugins=list(getattr(args, "plugin_files", [])),
            command=" ".join(["python -m benchmark", *map(shlex.quote, getattr(args, "argv", sys.argv[1:]))]),
        )
        tables = run(options)
        print_tables(tables) if tables else print("no records")
        return 0


def _engine(args: argparse.Namespace):
    from benchmark.engine import Engine
    from benchmark.options import RunOptions
    from benchmark.profiles import load_profile

    options = RunOptions(
        profile=args.profile,
        output_dir=args.output_dir,
        device=args.device,
        compile=args.compile,
        precision=args.precision,
        data_root=args.data_root,
        download=args.download,
        show_progress=not args.no_progress,
    )
    return Engine(options, load_profile(args.profile))


class DistillCommand:
    help = "distill one buffer and save it"

    def add_arguments(self, distill: argparse.ArgumentParser) -> None:
        distill.add_argument("--dataset", default="fashion_mnist", help="a registered dataset (see `list`)")
        distill.add_argument("--strategy", required=True, help="a spec, e.g. speed:objective=dm")
        distill.add_argument("--ipc", type=int, required=True, help="images-per-class budget")
        distill.add_argument("--seed", type=int, default=0, help="distillation seed")
        add_common(distill)

    def run(self, args: argparse.Namespace) -> int:
        from benchmark.options import SEED_MAX, check_range
        from benchmark.registries import SUITES
        from benchmark.suites.base import Cell

        check_range("--seed", args.seed, 0, SEED_MAX)
        check_range("--ipc", args.ipc, 1, None)
        engine = _engine(args)
        resolved = engine.buffers.resolve(args.strategy, args.dataset, args.ipc)
        standard = SUITES.get("standard")(engine.options, engine.profile, engine)
        standard.check_class_sizes([Cell(args.dataset, args.strategy, args.ipc, args.seed)])
        data = engine.buffers.data(args.dataset, engine.profile.preprocessing(args.dataset))
        outcome = engine.buffers.obtain(data, resolved, args.ipc, args.seed)
        if outcome.status != "ok":
            print(f"{resolved.canonical}: {outcome.status}: {outcome.error}", file=sys.stderr)
            return 1
        path = engine.store.buffer_path(resolved.name, outcome.key)
        budget = f"{outcome.budget.floats}" if outcome.budget else "unbudgeted"
        print(
            f"{resolved.canonical}\nstorage {outcome.storage:g} / budget {budget} float32-equivalents\n{path}"
        )
        return 0


class EvaluateCommand:
    help = "train fresh networks on a saved buffer"

    def add_arguments(self, evaluate: argparse.ArgumentParser) -> None:
        evaluate.add_argument("buffer", type=Path, help="a .safetensors buffer")
        evaluate.add_argument("--network", default="ConvNet", help="the evaluation network (see `list`)")
        evaluate.add_argument(
            "--repeats", type=int, default=1, help="networks to train (seeds from the buffer)"
        )
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

    def run(self, args: argparse.Namespace) -> int:
        from benchmark.buffer import Buffer
        from benchmark.options import check_range
        from benchmark.registries import SUITES
        from benchmark.seeding import derive_seed
        from benchmark.training.job import EvaluationJob, TrainingSet

        check_range("--repeats", args.repeats, 1, 1000)
        engine = _engine(args)
        buffer = Buffer.load(args.buffer)
        preprocessing = args.preprocessing or buffer.manifest.get("preprocessing", "meanstd")
        data = engine.buffers.data(buffer.manifest["dataset"], preprocessing)
        buffer.check_data(data)
        data = data.restricted_to(buffer.manifest["classes"])
        images, labels, lr = buffer.materialize(engine.device)
        suite = SUITES.get(args.suite)(engine.options, engine.profile, engine)
        spec, ipc = buffer.manifest.get("spec"), buffer.manifest.get("ipc", 1)
        resolved = engine.buffers.resolve(spec, data.name, ipc) if spec else None
        recipe = suite.recipe(args.network, resolved, data.name, ipc)
        if args.standardize:
            recipe = replace(recipe, standardize=True)
        training = TrainingSet(images, labels, lr, buffer.storage)
        accuracies = []
        for repeat in range(args.repeats):
            seed = derive_seed(buffer.manifest["sha256"], repeat)
            job = EvaluationJob(args.network, data, training, recipe, seed, getattr(data, args.split))
            accuracy = engine.evaluation.train(job).accuracy
            accuracies.append(accuracy)
            print(f"repeat {repeat}: {args.split} accuracy {100 * accuracy:.2f} %")
        if len(accuracies) > 1:
            print(
                f"mean {100 * statistics.mean(accuracies):.2f} ± {100 * statistics.pstdev(accuracies):.2f} %"
            )
        return 0


class ExportCommand:
    help = "write a buffer's images (preprocessing undone), labels, class names and lr as files"

    def add_arguments(self, export: argparse.ArgumentParser) -> None:
        from benchmark.export import FORMATS

        export.add_argument("buffer", type=Path, help="a .safetensors buffer (results/buffers/<strategy>/…)")
        export.add_argument(
            "--format", choices=FORMATS, default="png", help="png (one file per image), npz or pt"
        )
        export.add_argument("--output-dir", type=path_argument, required=True, help="folder to write into")
        export.add_argument(
            "--results", type=Path, default=None,
            help="the results folder whose cache holds a ZCA buffer's transform (default: the buffer's own)",
        )  # fmt: skip

    def run(self, args: argparse.Namespace) -> int:
        from benchmark.buffer import Buffer
        from benchmark.export import export_buffer, results_root_of

        buffer = Buffer.load(args.buffer)
        written = export_buffer(
            buffer, args.output_dir, args.format, args.results or results_root_of(args.buffer)
        )
        print(f"{len(written)} files in {args.output_dir} ({buffer.manifest.get('spec', buffer.kind)})")
        return 0


class ShowCommand:
    help = "print recorded results as the suites' tables (or CSV/JSON)"

    def add_arguments(self, show: argparse.ArgumentParser) -> None:
        show.add_argument("--suite", default=None, help="only this suite's records (default: all)")
        show.add_argument("--profile", default=None, help="only this profile's records (default: all)")
        show.add_argument(
            "--format",
            choices=("table", "csv", "json"),
            default="table",
            help="table: the suites' tables; csv/json: one row per record and metric",
        )
        show.add_argument(
            "--output-dir", type=path_argument, default=Path("results"), help="the results folder"
        )

    def run(self, args: argparse.Namespace) -> int:
        from benchmark.profiles import profile_names
        from benchmark.registries import SUITES
        from benchmark.report.tables import build_tables
        from benchmark.results.frame import results_frame
        from benchmark.results.store import ResultStore

        store = ResultStore(args.output_dir, read_only=True)
        records = [r for r in store.records(args.suite) if args.profile in (None, r.config["profile"])]
        check_known("suite", args.suite, SUITES.names(), {r.config["suite"] for r in store.records()})
        check_known("profile", args.profile, profile_names(), {r.config["profile"] for r in store.records()})
        if args.format == "csv":
            results_frame(records).to_csv(sys.stdout, index=False)
        elif args.format == "json":
            print(json.dumps(json.loads(results_frame(records).to_json(orient="records")), indent=1))
        elif not records:
            print("no records")
        else:
            print_tables(build_tables(records))
        return 0


def check_known(kind: str, name: str | None, registered: list[str], recorded: set[str]) -> None:
    """A name to filter by must be registered or appear in the records (a typo is one line)."""
    from benchmark.errors import UnknownNameError
    from benchmark.registry import did_you_mean

    known = sorted(set(registered) | recorded)
    if name is not None and name not in known:
        raise UnknownNameError(
            f"Unknown {kind} {name!r}.{did_you_mean(name, known)} Available: {', '.join(known)}."
        )


LIST = ListCommand()
RUN = RunCommand()
DISTILL = DistillCommand()
EVALUATE = EvaluateCommand()
SHOW = ShowCommand()
EXPORT = ExportCommand()
