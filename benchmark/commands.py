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

from benchmark.cli import add_common, comma_list
from benchmark.options import WORKERS_DEFAULT, parse_workers
from benchmark.paths import path_argument


def markdown_frame(frame) -> str:
    """A wide table frame (``Table.frame()``) as a Markdown table, every cell escaped."""
    from benchmark.report.escape import markdown_text

    names = [name or "" for name in frame.index.names]
    header = [*names, *map(str, frame.columns)]
    lines = ["| " + " | ".join(map(markdown_text, header)) + " |", "|" + "---|" * len(header)]
    for index, values in frame.iterrows():
        keys = index if isinstance(index, tuple) else (index,)
        cells = ["" if value is None else str(value) for value in (*keys, *values)]
        lines.append("| " + " | ".join(map(markdown_text, cells)) + " |")
    return "\n".join(lines)


EVAL_LR_HELP = (
    "train every buffer at this one fixed lr, its learned lr ignored (e.g. 0.01; recorded in the recipe, "
    "shown in table labels)"
)


def print_tables(tables) -> None:
    for table in tables:
        print(f"\n== {table.title} ==")
        print(table.text())
        if table.spread_note():
            print(table.spread_note())


class ListCommand:
    help = "list strategies, datasets, networks, suites, profiles, … (one kind, or names matching a pattern)"

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument(
            "what", nargs="*", metavar="KIND_OR_PATTERN",
            help="a kind (strategies, datasets, networks, suites, objectives, parameterizations, executors, "
                 "commands, profiles) and/or a name pattern, e.g. `list networks` or `list 'Res*'` "
                 "(shell-style, case-insensitive; a plain word matches names containing it)",
        )  # fmt: skip

    def run(self, args: argparse.Namespace) -> int:
        import fnmatch

        from benchmark.errors import UserInputError

        kinds = list_kinds()
        plural = {w: w for w in kinds} | {w[:-3] + "y" if w.endswith("ies") else w[:-1]: w for w in kinds}
        words = list(args.what)
        chosen = [plural[w.lower()] for w in words if w.lower() in plural]
        patterns = [w for w in words if w.lower() not in plural]
        if len(chosen) > 1 or len(patterns) > 1:
            raise UserInputError(f"list takes one kind and one pattern at most, got {' '.join(words)!r}")
        selected = {k: v for k, v in kinds.items() if not chosen or k == chosen[0]}
        pattern = patterns[0].lower() if patterns else "*"
        if not any(c in pattern for c in "*?["):
            pattern = f"*{pattern}*"
        shown = 0
        for title, entries in selected.items():
            names = [(n, d) for n, d in entries() if fnmatch.fnmatchcase(n.lower(), pattern)]
            if not names:
                continue
            print(f"{title}:")
            for name, description in names:
                print(f"  {name:<22} {description}")
            shown += len(names)
        if not shown:
            where = f"among the {chosen[0]} " if chosen else ""
            raise UserInputError(f"no name {where}matches {patterns[0]!r}; kinds: {', '.join(kinds)}")
        return 0


def list_kinds() -> dict:
    """Kind → a function giving its (name, description) pairs (profiles are files, not a registry)."""
    from benchmark import registries
    from benchmark.profiles import load_profile, profile_names

    def entries(registry):
        return lambda: [(name, registry.describe(name)) for name in registry.names()]

    kinds = {
        title: entries(getattr(registries, title.upper()))
        for title in (
            "strategies", "datasets", "networks", "suites", "objectives", "parameterizations", "executors",
            "commands",
        )
    }  # fmt: skip
    kinds["profiles"] = lambda: [(name, load_profile(name).description) for name in profile_names()]
    return kinds


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
            help=(
                "suite: one recipe for every strategy (docs/decisions.md decision 5); "
                "original: each method's published one"
            ),
        )
        run.add_argument("--eval-lr", type=float, default=None, help=EVAL_LR_HELP)
        run.add_argument("--executor", default="local", help="local (default) or ray")
        run.add_argument(
            "--workers",
            default=WORKERS_DEFAULT,
            help=f"local executor: cell processes, torch threads split between them; auto (one per core "
            f"on a CPU) or a count, 1 = in this process (default {WORKERS_DEFAULT})",
        )
        run.add_argument("--address", dest="ray_address", help="Ray cluster (default: a local one)")
        run.add_argument("--cpus-per-cell", type=int, default=1, help="CPUs (and torch threads) per Ray task")
        run.add_argument("--gpus-per-cell", type=float, default=0.0, help="GPUs per Ray task")
        run.add_argument("--force", action="store_true", help="redo finished work")
        run.add_argument("--retry-failed", action="store_true", help="retry cells recorded as failed")
        add_common(run)

    def run(self, args: argparse.Namespace) -> int:
        from benchmark.errors import UserInputError
        from benchmark.options import ExecutionOptions, RunOptions, Selection, check_range
        from benchmark.runner import run

        check_range("--cpus-per-cell", args.cpus_per_cell, 1, 4096)
        workers = parse_workers(args.workers)
        if args.executor != "local" and args.workers != WORKERS_DEFAULT:
            raise UserInputError("--workers is for the local executor; drop it (Ray places cells itself)")
        check_range("--gpus-per-cell", args.gpus_per_cell, 0, 64)
        ray_only = args.ray_address or args.cpus_per_cell != 1 or args.gpus_per_cell != 0
        if args.executor == "local" and ray_only:
            raise UserInputError(
                "--address, --cpus-per-cell and --gpus-per-cell are for --executor ray; add it or drop them"
            )

        selection = Selection(
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
        )
        execution = ExecutionOptions(
            executor=args.executor,
            workers=workers,
            ray_address=args.ray_address,
            cpus_per_cell=args.cpus_per_cell,
            gpus_per_cell=args.gpus_per_cell,
            plugins=list(getattr(args, "plugin_files", [])),
        )
        options = RunOptions(selection, engine_options(args), execution)
        tables = run(options)
        print_tables(tables) if tables else print("no records")
        return 0


def engine_options(args: argparse.Namespace):
    """The engine's options from the flags every engine command shares (``run``, ``distill``,
    ``evaluate``): the one place they are built."""
    from benchmark.options import EngineOptions

    return EngineOptions(
        output_dir=args.output_dir,
        device=args.device,
        compile=args.compile,
        precision=args.precision,
        distill_precision=getattr(args, "distill_precision", "fp32"),
        eval_lr=getattr(args, "eval_lr", None),
        data_root=args.data_root,
        download=args.download,
        force=getattr(args, "force", False),
        retry_failed=getattr(args, "retry_failed", False),
        show_progress=not args.no_progress,
        command=" ".join(["python -m benchmark", *map(shlex.quote, getattr(args, "argv", sys.argv[1:]))]),
    )


def _engine(args: argparse.Namespace):
    from benchmark.engine import Engine
    from benchmark.profiles import load_profile

    return Engine(engine_options(args), load_profile(args.profile))


def suite_of(name: str, engine):
    """The suite ``name`` on ``engine`` with its own settings for the engine's profile."""
    from benchmark.options import RunOptions, Selection
    from benchmark.registries import SUITES

    options = RunOptions(Selection(name, engine.profile.name), engine.options)
    return SUITES.get(name)(options, engine.profile, engine)


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
        from benchmark.suites.base import Cell

        check_range("--seed", args.seed, 0, SEED_MAX)
        check_range("--ipc", args.ipc, 1, None)
        engine = _engine(args)
        resolved = engine.buffers.resolve(args.strategy, args.dataset, args.ipc)
        standard = suite_of("standard", engine)
        standard.check_class_sizes([Cell(args.dataset, args.strategy, args.ipc, args.seed)])
        data = engine.buffers.data(args.dataset, engine.profile.preprocessing(args.dataset))
        outcome = engine.buffers.obtain(engine.buffers.plan(data, resolved, args.ipc, args.seed))
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
    help = "train fresh networks on a saved buffer, or score a set made elsewhere (folder, .npz, .pt)"

    def add_arguments(self, evaluate: argparse.ArgumentParser) -> None:
        evaluate.add_argument(
            "buffer", type=Path,
            help="a .safetensors buffer, or an outside set: a folder of class folders, an .npz or a .pt "
                 "(docs/api.md)",
        )  # fmt: skip
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
        evaluate.add_argument("--eval-lr", type=float, default=None, help=EVAL_LR_HELP)
        evaluate.add_argument(
            "--preprocessing",
            choices=("meanstd", "zca"),
            default=None,
            help="the data's preprocessing (default: the one the buffer was made with; another is an error; "
            "an outside set: the suite's for the dataset)",
        )
        outside = evaluate.add_argument_group("an outside set (a folder, .npz or .pt)")
        outside.add_argument(
            "--values", choices=("pixels", "uint8", "preprocessed"), default=None,
            help="what the images hold: pixels (float, [0, 1]), uint8 (0…255; a folder of pictures) or "
                 "preprocessed (normalised as the dataset's preprocessing); uint8 counts 0.25 float32 "
                 "per value, the others 1",
        )  # fmt: skip
        outside.add_argument("--dataset", default=None, help="the dataset the set was made for (see `list`)")
        outside.add_argument("--ipc", type=int, default=None, help="the images-per-class budget it meets")
        outside.add_argument(
            "--name", default=None, help="its row label external:<name> (default: the file or folder name)"
        )
        add_common(evaluate)

    def run(self, args: argparse.Namespace) -> int:
        from benchmark.buffer import Buffer
        from benchmark.errors import UserInputError
        from benchmark.options import check_range
        from benchmark.seeding import derive_seed
        from benchmark.training.job import EvaluationJob, TrainingSet

        check_range("--repeats", args.repeats, 1, 1000)
        if args.buffer.is_dir() or args.buffer.suffix.lower() in (".npz", ".pt"):
            return self.run_outside_set(args)
        given = [flag for flag in ("values", "dataset", "ipc", "name") if getattr(args, flag) is not None]
        if given:
            raise UserInputError(
                f"--{given[0]} is for an outside set (a folder, .npz or .pt); a buffer's manifest names "
                "its dataset, IPC and values"
            )
        engine = _engine(args)
        buffer = Buffer.load(args.buffer)
        check_evaluable(buffer)
        preprocessing = args.preprocessing or buffer.manifest.get("preprocessing", "meanstd")
        data = engine.buffers.data(buffer.manifest["dataset"], preprocessing)
        buffer.check_data(data)
        data = data.restricted_to(buffer.manifest["classes"])
        suite = suite_of(args.suite, engine)
        spec, ipc = buffer.manifest.get("spec"), buffer.manifest.get("ipc", 1)
        resolved = None
        if spec:  # the spec as made: evaluating distils nothing (no --distill-precision check)
            resolved = engine.buffers.resolve(spec, data.name, ipc, len(data.classes), to_fit=False)
        recipe = suite.recipe(args.network, resolved, data.name, ipc)
        if args.standardize:
            recipe = replace(recipe, standardize=True)
        training = TrainingSet.of(buffer, engine.device)
        accuracies = []
        for repeat in range(args.repeats):
            seed = derive_seed(buffer.manifest["sha256"], repeat)
            job = EvaluationJob(args.network, data, training, recipe, seed, getattr(data, args.split))
            accuracy = engine.evaluation.train(job).accuracy
            accuracies.append(accuracy)
            print(f"repeat {repeat}: {args.split} accuracy {100 * accuracy:.2f} %")
        print_mean(accuracies)
        return 0

    def run_outside_set(self, args: argparse.Namespace) -> int:
        """Score a set made elsewhere under the suite's budget and recipe; test-split scores become
        records labelled ``external:<name>`` (benchmark/external.py)."""
        import time

        from benchmark.budget import Budget, check_budget
        from benchmark.engine.evaluation import soft_label_info
        from benchmark.errors import UserInputError
        from benchmark.external import (
            BYTES,
            check_one_set_per_name,
            outside_name,
            read_outside_set,
        )
        from benchmark.options import check_range
        from benchmark.registries import DATASETS
        from benchmark.results.record import Record
        from benchmark.training.job import EvaluationJob, TrainingSet

        if args.dataset is None or args.ipc is None:
            folder = f"{str(args.buffer)!r} is a folder, not a buffer file; " if args.buffer.is_dir() else ""
            raise UserInputError(
                f"{folder}to score an outside set (class folders, .npz or .pt) give --dataset and --ipc, the "
                "budget it is held to (docs/api.md)"
            )
        check_range("--ipc", args.ipc, 1, None)
        DATASETS.get(args.dataset)  # an unknown name: one line before any data is read
        engine = _engine(args)
        suite = suite_of(args.suite, engine)
        data = engine.buffers.data(
            args.dataset, args.preprocessing or suite.preprocessing(args.dataset, None, args.ipc)
        )
        outside = read_outside_set(args.buffer, args.values, data, outside_name(args.buffer, args.name))
        budget = Budget(args.ipc, len(data.classes), data.image_shape)
        check_budget(outside.storage, budget, outside.label)
        print(
            f"{outside.label}: {len(outside.images)} images, {outside.values} values counted at "
            f"{BYTES[outside.values]} byte{'s' if BYTES[outside.values] > 1 else ''} each; storage "
            f"{outside.storage:g} / budget {budget.floats} float32-equivalents"
        )
        network = suite.evaluation_network(args.network, data.name)
        recipe = suite.recipe(network, None, data.name, args.ipc)
        if args.standardize:
            recipe = replace(recipe, standardize=True)
        device = engine.device
        training = TrainingSet(
            outside.images.to(device), outside.labels.to(device), outside.lr, outside.storage, budget.floats,
            soft_labels=outside.soft_labels,
        )
        configs = record_configs(outside, suite, data, args.ipc, network, recipe, args.repeats)
        recording = args.split == "test"
        if recording:
            check_one_set_per_name(engine.store.records(suite.name), configs[0])
        accuracies = []
        for config in configs:
            seed, split = config.eval_seed, getattr(data, args.split)
            job = EvaluationJob(network, data, training, recipe, seed, split)
            start = time.perf_counter()
            trained = engine.evaluation.train(job)
            accuracy = trained.accuracy
            accuracies.append(accuracy)
            if recording:
                engine.store.put(
                    Record(
                        config.with_fields(compile=trained.compile), "ok", metrics={"accuracy": accuracy},
                        storage=outside.storage, budget=budget.floats, learned_lr=outside.lr,
                        wall_time_s={"evaluate": time.perf_counter() - start}, role="method", label_parts=[],
                        runtime=engine.evaluation.runtime(), command=engine.options.command,
                        soft_labels=soft_label_info(training),
                    )
                )  # fmt: skip
            print(f"repeat {config.repeat}: {args.split} accuracy {100 * accuracy:.2f} %")
        print_mean(accuracies)
        where = f"records in {engine.store.root / 'records' / suite.name}" if recording else "no records"
        print(f"{outside.label} on {data.name} IPC {args.ipc}, {network}, {suite.name} recipe: {where}")
        return 0


def record_configs(outside, suite, data, ipc: int, network: str, recipe, repeats: int) -> list:
    """One RecordConfig per repeat of an outside set, shaped like a suite's so tables place its row
    beside the suite's own; the set's digest and value space are part of the identity."""
    from benchmark.external import EXTERNAL
    from benchmark.results.config import RecordConfig
    from benchmark.seeding import derive_seed

    return [
        RecordConfig(
            dataset=data.name, preprocessing=data.preprocessing, suite=suite.name,
            profile=suite.profile.name, spec=outside.spec, strategy=EXTERNAL, ipc=ipc,
            network=network, eval_recipe=recipe.describe(), distill_seed=0, repeat=repeat,
            eval_seed=derive_seed(outside.sha256, repeat), values=outside.values,
            set_sha256=outside.sha256,
        )
        for repeat in range(repeats)
    ]  # fmt: skip


def print_mean(accuracies: list[float]) -> None:
    if len(accuracies) > 1:
        print(f"mean {100 * statistics.mean(accuracies):.2f} ± {100 * statistics.pstdev(accuracies):.2f} %")


class ExportCommand:
    help = "write a buffer as files: pt/npz exactly as training consumed it, png as pictures for people"
    interrupted = "interrupted; nothing was exported (the output folder is as it was)"

    def add_arguments(self, export: argparse.ArgumentParser) -> None:
        from benchmark.export import FORMATS

        export.add_argument("buffer", type=Path, help="a .safetensors buffer (results/buffers/<strategy>/…)")
        export.add_argument(
            "--format", choices=FORMATS, default="png",
            help="png (a picture per image, clamped to [0, 1]); npz, pt (float32 as training consumed them)",
        )  # fmt: skip
        export.add_argument("--output-dir", type=path_argument, required=True, help="folder to write into")
        export.add_argument(
            "--results", type=Path, default=None,
            help="the results folder whose cache holds a ZCA buffer's transform (default: the buffer's own)",
        )  # fmt: skip

    def run(self, args: argparse.Namespace) -> int:
        from benchmark.buffer import Buffer
        from benchmark.export import export_buffer, results_root_of, summary

        buffer = Buffer.load(args.buffer)
        written = export_buffer(
            buffer, args.output_dir, args.format, args.results or results_root_of(args.buffer)
        )
        print(
            f"{len(written)} files in {args.output_dir} ({buffer.manifest.get('spec', buffer.kind)}): "
            f"{summary(args.output_dir)}"
        )
        return 0


class ShowCommand:
    help = "print recorded results as the suites' tables (or Markdown, CSV, JSON)"

    def add_arguments(self, show: argparse.ArgumentParser) -> None:
        show.add_argument("--suite", default=None, help="only this suite's records (default: all)")
        show.add_argument("--profile", default=None, help="only this profile's records (default: all)")
        show.add_argument("--dataset", default=None, help="only this dataset's records (default: all)")
        show.add_argument(
            "--format",
            choices=("table", "markdown", "csv", "json"),
            default="table",
            help="table: the suites' tables; markdown: the same as Markdown tables; csv/json: one row per "
            "record and metric",
        )
        show.add_argument(
            "--output-dir", type=path_argument, default=Path("results"), help="the results folder"
        )

    def run(self, args: argparse.Namespace) -> int:
        from benchmark.profiles import profile_names
        from benchmark.registries import DATASETS, SUITES
        from benchmark.report.tables import build_tables
        from benchmark.results import select_records
        from benchmark.results.frame import results_frame
        from benchmark.results.store import ResultStore

        every = ResultStore(args.output_dir, read_only=True).records()
        check_known("suite", args.suite, SUITES.names(), {r.config["suite"] for r in every})
        check_known("profile", args.profile, profile_names(), {r.config["profile"] for r in every})
        check_known("dataset", args.dataset, DATASETS.names(), {r.config["dataset"] for r in every})
        records = select_records(every, args.suite, args.profile, args.dataset)
        if args.format == "csv":
            results_frame(records).to_csv(sys.stdout, index=False)
        elif args.format == "json":
            print(json.dumps(json.loads(results_frame(records).to_json(orient="records")), indent=1))
        elif not records:
            print("no records")
        elif args.format == "markdown":
            for table in build_tables(records):
                print(f"\n## {table.title}\n\n{markdown_frame(table.frame())}")
                if table.spread_note():
                    print(f"\n{table.spread_note()}")
        else:
            print_tables(build_tables(records))
        return 0


def check_evaluable(buffer) -> None:
    """An accuracy needs two classes or more, each named once, and a finite learned lr: one line if not."""
    import math

    from benchmark.errors import UserInputError

    classes = buffer.manifest.get("classes") or []
    if len(set(map(str, classes))) < 2 or len(set(map(str, classes))) != len(classes):
        raise UserInputError(
            f"the buffer's classes are {classes!r}: an accuracy needs two or more distinct classes"
        )
    if buffer.learned_lr is not None and not math.isfinite(buffer.learned_lr):
        raise UserInputError(f"the buffer's learned lr is {buffer.learned_lr}; distill the buffer again")


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
