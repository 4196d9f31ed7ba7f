"""The command line: every command is an entry of ``COMMANDS`` (the harness's own, plugins' alike).

A command is an object with ``help``, ``add_arguments(parser)`` and ``run(args) -> int``; a
two-word name (``plan speed``) is a sub-command of its first word. A command's module is imported
only when it is invoked, and torch/pandas only inside commands, so ``--help`` stays fast.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import warnings
from pathlib import Path

from benchmark.errors import BenchmarkError, BenchmarkWarning, UserInputError
from benchmark.paths import path_argument
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
    """The options every command that distils or trains shares."""
    parser.add_argument("--profile", default="quick", help="quick (CPU default), paper or smoke")
    parser.add_argument(
        "--output-dir", type=path_argument, default=Path("results"), help="records, buffers, caches"
    )
    parser.add_argument("--device", default="auto", help="auto, cpu or cuda")
    parser.add_argument(
        "--compile",
        default="auto",
        choices=["auto", "on", "off"],
        help="torch.compile evaluation training (auto: on CPU for long trainings)",
    )
    parser.add_argument(
        "--precision", choices=("fp32", "bf16"), default="fp32",
        help="evaluation training precision; bf16 (autocast) is an explicit choice recorded in each record",
    )  # fmt: skip
    parser.add_argument(
        "--distill-precision", choices=("fp32", "bf16"), default="fp32",
        help="distillation precision; bf16 (autocast) adds distill_precision=bf16 to each distilling "
        "strategy's spec (its buffer key and records); selection strategies ignore it",
    )  # fmt: skip
    parser.add_argument(
        "--data-root", type=path_argument, default=None, help="folder holding the dataset files"
    )
    parser.add_argument("--download", action="store_true", help="download datasets with torchvision")
    parser.add_argument("--no-progress", action="store_true", help="hide progress bars")


class HELP(argparse.ArgumentDefaultsHelpFormatter):
    """Every option's help shows its default once: not where the help already states it, nor for
    flags and options without one (``None``, ``False``)."""

    def _get_help_string(self, action: argparse.Action) -> str:
        help_text = action.help or ""
        if "(default" in help_text or action.default in (None, False) or action.default is argparse.SUPPRESS:
            return help_text
        return super()._get_help_string(action)


class OneLineParser(argparse.ArgumentParser):
    """argparse, but a usage error is one line naming the bad value (no usage block), exit 2."""

    def error(self, message: str):
        self.exit(2, f"error: {self.prog}: {message} (see {self.prog} --help)\n")


def version_text() -> str:
    import benchmark
    from benchmark.results.record import git_commit

    commit = git_commit()
    return f"distill-benchmark {benchmark.__version__}" + (f" (git {commit[:12]})" if commit else "")


def build_parser(argv: list[str]) -> argparse.ArgumentParser:
    """The parser; only the invoked command's module is imported (its arguments are needed)."""
    from benchmark.registries import COMMANDS

    words = _positionals(argv)
    parser = OneLineParser(
        prog="python -m benchmark",
        description="Dataset distillation under storage budgets.",
        formatter_class=HELP,
    )
    parser.add_argument(
        "--plugin", action="append", default=[], help="a .py file registering entries (repeatable)"
    )
    parser.add_argument("--version", action="version", version=version_text())
    parser.add_argument(
        "--log-file", type=path_argument, default=None, help="also write the run's log lines to this file"
    )
    commands = parser.add_subparsers(dest="command", required=True)
    groups: dict[str, argparse._SubParsersAction] = {}
    for name in COMMANDS.names():
        first, _, second = name.partition(" ")
        if second:  # "plan speed": the sub-command "speed" of "plan"
            if first not in groups:
                group = commands.add_parser(first, help=f"{first} …", formatter_class=HELP)
                groups[first] = group.add_subparsers(dest="subcommand", required=True)
            sub = groups[first].add_parser(
                second, help=_help_text(COMMANDS.describe(name)), formatter_class=HELP
            )
        else:
            sub = commands.add_parser(name, help=_help_text(COMMANDS.describe(name)), formatter_class=HELP)
        if words[: len(name.split())] == name.split():
            COMMANDS.get(name).add_arguments(sub)
    return parser


INTERRUPTED = "interrupted; finished records are kept, re-run to resume"


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    show_warnings_in_one_line()
    command = None
    try:
        load_entry_point_plugins()  # first, so a plugin file re-registering a built-in name is named
        for path in _plugin_paths(argv):
            load_plugin_file(path)
        args = build_parser(argv).parse_args(argv)
        args.plugin_files, args.argv = _plugin_paths(argv), list(argv)
        configure_logging(args.log_file)
        command = command_of(args)
        return command.run(args)
    except BenchmarkError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:  # a command may say what an interruption leaves (``interrupted``)
        print(getattr(command, "interrupted", INTERRUPTED), file=sys.stderr)
        return 130
    except BrokenPipeError:  # e.g. `show --format csv | head -1`: the reader left; nothing is lost
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0


class LogFile(logging.FileHandler):
    """``--log-file``: a line that cannot be written (a full disk) is one warning on stderr; the file
    is then dropped and logging goes on to stderr alone (no traceback per line)."""

    def handleError(self, record: logging.LogRecord) -> None:
        error = sys.exc_info()[1]
        logging.getLogger("benchmark").removeHandler(self)
        reason = getattr(error, "strerror", None) or error
        print(
            f"warning: --log-file {self.baseFilename!r} cannot be written ({reason}); logging to stderr only",
            file=sys.stderr,
        )
        try:
            self.close()
        except OSError:
            pass


class CurrentStderr(logging.StreamHandler):
    """Writes to whatever ``sys.stderr`` is when a line is emitted (a redirection may swap it)."""

    @property
    def stream(self):
        return sys.stderr

    @stream.setter
    def stream(self, value) -> None:
        pass


def configure_logging(log_file: Path | None) -> None:
    """The ``benchmark`` logger: one line per message on stderr; with ``--log-file`` also to a file
    with times (appended, so the log of a resumed run continues)."""
    logger = logging.getLogger("benchmark")
    logger.setLevel(logging.INFO)
    logger.handlers.clear()
    logger.propagate = False
    console = CurrentStderr()
    console.setFormatter(logging.Formatter("%(message)s"))
    logger.addHandler(console)
    if log_file is not None:
        try:
            handler = LogFile(log_file, mode="a", encoding="utf-8")
        except OSError as error:
            raise UserInputError(
                f"--log-file {str(log_file)!r} cannot be written ({error.strerror})"
            ) from error
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
        logger.addHandler(handler)


def show_warnings_in_one_line() -> None:
    """The harness's own warnings as one line each (``warning: …``); others as Python prints them."""
    default = warnings.showwarning

    def show(message, category, filename, lineno, file=None, line=None):
        if issubclass(category, BenchmarkWarning):
            logger = logging.getLogger("benchmark")
            if logger.handlers:
                logger.warning("warning: %s", message)
            else:
                print(f"warning: {message}", file=sys.stderr)
        else:
            default(message, category, filename, lineno, file, line)

    warnings.showwarning = show


def command_of(args: argparse.Namespace):
    from benchmark.registries import COMMANDS

    name = args.command if getattr(args, "subcommand", None) is None else f"{args.command} {args.subcommand}"
    return COMMANDS.get(name)


def _help_text(description: str) -> str:
    """A registry description as argparse help: a literal % (e.g. "95 %") would start a format."""
    return description.replace("%", "%%")


def _positionals(argv: list[str]) -> list[str]:
    """The words of ``argv`` that are not options (the command, a sub-command's name, …)."""
    words, skip = [], False
    for arg in argv:
        if skip:
            skip = False
        elif arg in ("--plugin", "--log-file"):  # the top-level options that take a value
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
