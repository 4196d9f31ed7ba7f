"""Load a repository script (a study, an example: files that are not part of a package) as a module."""

import importlib.util
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def load_script(relative: str, name: str):
    """``ROOT/relative`` imported as module ``name``, registered in ``sys.modules`` (its dataclasses and
    its own imports of sibling scripts look modules up there)."""
    spec = importlib.util.spec_from_file_location(name, ROOT / relative)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module
