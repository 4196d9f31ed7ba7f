"""Discovery of plugins: entry points, and single files given with ``--plugin``.

A plugin is a module that registers its entries when imported. ``speed`` and ``baselines`` are
found through the ``distill_benchmark.plugins`` entry-point group exactly as an outside package is.
"""

from __future__ import annotations

import sys
import types
from importlib.metadata import entry_points
from pathlib import Path

from benchmark.errors import BenchmarkError, UserInputError

ENTRY_POINT_GROUP = "distill_benchmark.plugins"
_loaded: set[str] = set()


def load_entry_point_plugins() -> None:
    """Import every installed plugin module once."""
    for entry in entry_points(group=ENTRY_POINT_GROUP):
        if entry.value in _loaded:
            continue
        _loaded.add(entry.value)
        entry.load()


def load_plugin_file(path: str | Path) -> None:
    """Import a single ``.py`` file as a plugin module (``--plugin path/to/file.py``)."""
    path = Path(path).resolve()
    if not path.is_file() or path.suffix != ".py":
        raise UserInputError(f"plugin file {str(path)!r} does not exist or is not a .py file")
    if str(path) in _loaded:
        return
    load_plugin_source(path.stem, path.read_text(), str(path))
    _loaded.add(str(path))


def load_plugin_source(name: str, source: str, origin: str) -> None:
    """Run a plugin's source as module ``distill_benchmark_plugin_<name>`` (a file given with
    ``--plugin``, or its text shipped to a Ray worker). Any failure is one line naming ``origin``."""
    module_name = f"distill_benchmark_plugin_{name}"
    module = types.ModuleType(module_name)
    module.__file__ = origin
    sys.modules[module_name] = module
    try:
        exec(compile(source, origin, "exec"), module.__dict__)  # noqa: S102 - the user's own plugin file
    except SystemExit as error:
        sys.modules.pop(module_name, None)
        raise UserInputError(
            f"plugin file {origin!r} called sys.exit({error.code}) while loading; a plugin only registers"
        ) from None
    except BenchmarkError:
        sys.modules.pop(module_name, None)
        raise
    except Exception as error:  # the plugin's own bug: one line naming it, not a traceback into ours
        sys.modules.pop(module_name, None)
        where = f" (line {error.lineno})" if isinstance(error, SyntaxError) else _line_in(error, origin)
        raise UserInputError(
            f"plugin file {origin!r} failed to load{where}: {type(error).__name__}: {error}"
        ) from None


def _line_in(error: Exception, origin: str) -> str:
    """`` (line N)`` of the innermost frame of ``error`` inside ``origin``, if any."""
    import traceback

    lines = [frame.lineno for frame in traceback.extract_tb(error.__traceback__) if frame.filename == origin]
    return f" (line {lines[-1]})" if lines else ""
