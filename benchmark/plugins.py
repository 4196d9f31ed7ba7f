"""Discovery of plugins: entry points, and single files given with ``--plugin``.

A plugin is a module that registers its entries when imported. ``speed`` and ``baselines`` are
found through the ``distill_benchmark.plugins`` entry-point group exactly as an outside package is.
"""

from __future__ import annotations

import importlib.util
import sys
from importlib.metadata import entry_points
from pathlib import Path

from benchmark.errors import UserInputError

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
    module_name = f"distill_benchmark_plugin_{path.stem}"
    spec = importlib.util.spec_from_file_location(module_name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    spec.loader.exec_module(module)
    _loaded.add(str(path))
