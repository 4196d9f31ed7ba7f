"""The floors of docs/ARCHITECTURE.md as a test: every module of ``benchmark``, ``speed`` and
``baselines`` sits on one floor and imports only modules of its own floor or of floors below it.

Imports are read with ``ast`` wherever they are written (module level, inside functions, under
``if TYPE_CHECKING:``), relative ones included. It also fails on a module on no floor, on an import
cycle, and on an import between two packages of one floor that are kept apart (speed and baselines).
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("benchmark", "speed", "baselines")

# Lowest floor first. A name places one module (``benchmark.spec``; a package's own __init__ is the
# package's name) or, ending in ``.*``, a package with every module under it; the most specific name
# places a module, so ``benchmark.data.classdata`` sits on contracts while the rest of data/ is a block.
# A new module inside a listed package is placed by its package; a new top-level module must be added.
FLOORS: dict[str, tuple[str, ...]] = {
    "base": (
        "benchmark", "benchmark.errors", "benchmark.atomic", "benchmark.cache", "benchmark.seeding",
        "benchmark.progress", "benchmark.paths", "benchmark.device", "benchmark.allocator",
        "benchmark.registry", "benchmark.registries", "benchmark.plugins",
    ),
    "contracts": (
        "benchmark.strategy", "benchmark.spec", "benchmark.buffer", "benchmark.pixels", "benchmark.budget",
        "benchmark.data.classdata", "benchmark.data.normalize", "benchmark.data.zca",
    ),
    "blocks": (
        "benchmark.data.*", "benchmark.nets.*", "benchmark.augment.*", "benchmark.training.*",
        "benchmark.distill.*", "benchmark.continual.*", "benchmark.corruptions.*", "benchmark.export",
        "benchmark.external",
    ),
    "settings": ("benchmark.options", "benchmark.profiles.*"),
    "results": ("benchmark.results.*",),
    "engine": ("benchmark.engine.*",),
    "suites": ("benchmark.suites.*", "benchmark.integrations.*"),
    "report": ("benchmark.report.*",),
    "front": (
        "benchmark.__main__", "benchmark.cli", "benchmark.commands", "benchmark.runner",
        "benchmark.executors", "benchmark.results",
    ),
    "methods": ("speed.*", "baselines.*"),
}  # fmt: skip
# Packages on one floor that never import each other (SPEED × DM is composed by name, not by import).
APART = (("speed", "baselines"),)


# ---- the checker ---------------------------------------------------------------------------------
def module_files(root: Path = ROOT) -> dict[str, Path]:
    """Every module of PACKAGES by dotted name (a package by its own name, for its __init__.py)."""
    found = {}
    for package in PACKAGES:
        for path in sorted((root / package).rglob("*.py")):
            parts = path.relative_to(root).with_suffix("").parts
            found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


def imported_names(module: str, is_package: bool, source: str) -> list[tuple[str, int]]:
    """(dotted name, line) of every import in ``source``, relative ones made absolute. ``from a import
    b`` yields ``a.b`` (b may be a module) and ``a``."""
    names = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names += [(alias.name, node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                package = module.split(".") if is_package else module.split(".")[:-1]
                package = package[: len(package) - node.level + 1]
                base = ".".join(package + ([node.module] if node.module else []))
            names += [(f"{base}.{alias.name}", node.lineno) for alias in node.names]
            names.append((base, node.lineno))
    return names


def import_graph(sources: dict[str, tuple[bool, str]]) -> dict[str, dict[str, int]]:
    """module → {imported module of ``sources``: first line}; a name resolves to the longest known
    module it starts with (``benchmark.data.classdata.ClassData`` → ``benchmark.data.classdata``)."""
    graph: dict[str, dict[str, int]] = {}
    for module, (is_package, source) in sources.items():
        edges = graph.setdefault(module, {})
        for name, line in imported_names(module, is_package, source):
            while name and name not in sources:
                name = name.rpartition(".")[0]
            if name and name != module:
                edges.setdefault(name, line)
    return graph


def places(name: str, module: str) -> int:
    """How specifically a floor's ``name`` places ``module``: 0 not at all, more for a closer name."""
    if name == module:
        return 10_000
    if name.endswith(".*") and (module == name[:-2] or module.startswith(name[:-1])):
        return len(name)
    return 0


def floor_of(module: str, floors: dict[str, tuple[str, ...]]) -> str | None:
    """The floor of the most specific name that places ``module``; None on no floor."""
    best: tuple[int, str] | None = None
    for floor, names in floors.items():
        for name in names:
            weight = places(name, module)
            if not weight:
                continue
            if best is not None and best[0] == weight and best[1] != floor:
                raise AssertionError(f"{module} is placed on both {best[1]} and {floor} by {name}")
            if best is None or weight > best[0]:
                best = (weight, floor)
    return best[1] if best else None


def cycles(graph: dict[str, dict[str, int]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for other in graph.get(node, {}):
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            component = []
            while not component or component[-1] != node:
                component.append(stack.pop())
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def violations(
    sources: dict[str, tuple[bool, str]],
    floors: dict[str, tuple[str, ...]] = FLOORS,
    apart: tuple[tuple[str, str], ...] = APART,
) -> list[str]:
    """One line per module on no floor, import to a higher floor, import across ``apart`` and cycle."""
    order = {floor: position for position, floor in enumerate(floors)}
    graph = import_graph(sources)
    placed = {module: floor_of(module, floors) for module in sources}
    problems = [f"{module} is on no floor" for module, floor in placed.items() if floor is None]
    top = {module: module.split(".")[0] for module in sources}
    for module, edges in sorted(graph.items()):
        for target, line in sorted(edges.items()):
            here, there = placed[module], placed[target]
            if here and there and order[there] > order[here]:
                problems.append(f"{module}:{line} imports {target}: {there} is above {here}")
            if {top[module], top[target]} in [set(pair) for pair in apart]:
                problems.append(
                    f"{module}:{line} imports {target}: {top[module]} and {top[target]} are apart"
                )
    problems += [f"import cycle: {' → '.join(component)}" for component in cycles(graph)]
    return problems


def repository_sources() -> dict[str, tuple[bool, str]]:
    return {
        module: (path.name == "__init__.py", path.read_text(encoding="utf-8"))
        for module, path in module_files().items()
    }


# ---- the repository keeps its floors --------------------------------------------------------------
def test_every_module_is_on_a_floor_and_imports_none_above_it():
    assert violations(repository_sources()) == []


def test_the_floors_name_modules_that_exist():
    """A floor's name that matches no module is a stale line of the map."""
    modules = set(module_files())
    stale = [name for names in FLOORS.values() for name in names if not any(places(name, m) for m in modules)]
    assert stale == []


def doc_token(name: str) -> str:
    """How ARCHITECTURE.md's diagram writes a floor's name: paths relative to benchmark/."""
    path = name.removesuffix(".*").removeprefix("benchmark").lstrip(".").replace(".", "/")
    if name.endswith(".*"):
        return f"{path}/"
    if (ROOT / name.replace(".", "/") / "__init__.py").is_file():
        return f"{path}/__init__.py".lstrip("/")
    return f"{path}.py"


def diagram_floors() -> dict[str, str]:
    """The diagram's text per floor: a floor starts at a line whose first word is its name and runs to
    the next such line or a blank line."""
    text = (ROOT / "docs" / "ARCHITECTURE.md").read_text(encoding="utf-8")
    diagram = text.split("## The house", 1)[1].split("```", 2)[1]
    chunks: dict[str, str] = {}
    current = None
    for line in diagram.splitlines():
        words = line.split()
        if not words:
            current = None
        elif words[0] in FLOORS:
            current = words[0]
            chunks[current] = line[line.index(current) + len(current) :]
        elif current is not None:
            chunks[current] += "\n" + line
    return chunks


def test_the_diagram_places_each_module_where_the_map_does():
    chunks = diagram_floors()
    assert list(chunks) == list(reversed(FLOORS)), "the diagram lists the floors, highest first"
    misplaced = []
    for floor, names in FLOORS.items():
        for name in names:
            token = re.compile(r"(?<![\w/.])" + re.escape(doc_token(name)) + r"(?![\w])")
            where = [other for other, chunk in chunks.items() if token.search(chunk)]
            if where != [floor]:
                misplaced.append(
                    f"{doc_token(name)} ({name}): on {floor} in the map, on {where} in the diagram"
                )
    assert misplaced == []


# ---- the checker fails where it must ---------------------------------------------------------------
def with_module(name: str, source: str) -> dict[str, tuple[bool, str]]:
    """The repository's modules with ``name`` (a plain module) replaced or added with ``source``."""
    return repository_sources() | {name: (False, source)}


@pytest.mark.parametrize(
    "module, source, expected",
    [
        (
            "benchmark.spec",
            "from benchmark.engine import Engine\n",
            "benchmark.engine: engine is above contracts",
        ),
        (  # a function-level import counts as much as one at the top
            "benchmark.results.frame",
            "def f():\n    from benchmark.suites.base import Suite\n",
            "benchmark.suites.base: suites is above results",
        ),
        (  # relative: from . import x inside benchmark/data/
            "benchmark.data.classdata",
            "from . import build\n",
            "benchmark.data.build: blocks is above contracts",
        ),
        (
            "benchmark.nets.layers",
            "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from ..engine import buffers\n",
            "benchmark.engine.buffers: engine is above blocks",
        ),
        ("benchmark.report.commands", "import benchmark.cli\n", "benchmark.cli: front is above report"),
        ("speed.strategy", "from baselines.dm import DMObjective\n", "speed and baselines are apart"),
    ],
)
def test_an_import_against_the_floors_is_reported(module, source, expected):
    found = violations(with_module(module, source))
    assert any(expected in problem and problem.startswith(module) for problem in found), found


def test_a_same_floor_import_is_allowed_and_a_lower_one_too():
    sources = with_module("benchmark.engine.newpart", "from . import buffers\nimport benchmark.spec\n")
    assert violations(sources) == []


def test_a_module_on_no_floor_is_reported():
    assert "benchmark.newthing is on no floor" in violations(with_module("benchmark.newthing", "x = 1\n"))


def test_a_cycle_is_reported():
    sources = with_module("benchmark.data.zca", "from benchmark.data.classdata import ClassData\n")
    assert "import cycle: benchmark.data.classdata → benchmark.data.zca" in violations(sources)


def test_a_module_placed_twice_is_refused():
    floors = {"low": ("benchmark.spec",), "high": ("benchmark.spec",)}
    with pytest.raises(AssertionError, match="benchmark.spec is placed on both low and high"):
        floor_of("benchmark.spec", floors)
