"""One generic registry class for every kind of named thing (strategies, datasets, networks, …).

Entries are objects or lazy ``"module:attribute"`` strings imported on first use, which keeps
start-up fast. An entry may carry facts beside its target (``info``: a dataset's image shape and
class count, a method's paper and code links). A name registered twice is an error; an unknown name
is answered with the valid ones. The project's registries ``discover`` plugins: the first time a
name is missing or the names are listed, installed plugins are imported (once per process).
"""

from __future__ import annotations

import difflib
import importlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from benchmark.errors import DuplicateNameError, UnknownNameError, UserInputError

T = TypeVar("T")


@dataclass
class _Entry:
    target: Any  # the object, or a "module:attribute" string not imported yet
    description: str
    info: dict[str, Any] = field(default_factory=dict)


def did_you_mean(name: object, names: list[str]) -> str:
    """`` Did you mean 'x'?`` for the closest valid name, or nothing."""
    close = difflib.get_close_matches(str(name), names, n=1, cutoff=0.6)
    return f" Did you mean {close[0]!r}?" if close else ""


def import_object(reference: str) -> Any:
    """Import ``"package.module:attribute"``."""
    module_name, _, attribute = reference.partition(":")
    if not attribute:
        raise ValueError(f"lazy reference {reference!r} must look like 'module:attribute'")
    obj: Any = importlib.import_module(module_name)
    for part in attribute.split("."):
        obj = getattr(obj, part)
    return obj


class Registry(Generic[T]):
    """Names → objects of one kind."""

    def __init__(self, kind: str, discover: bool = False):
        self.kind = kind
        self.discover = discover
        self._entries: dict[str, _Entry] = {}

    def register(self, name: str, target: T | str | None = None, *, description: str = "", **info: Any):
        """Register ``target`` under ``name`` (with facts ``info``); without a target, a decorator."""
        if target is None:

            def decorator(obj: T) -> T:
                self.register(name, obj, description=description, **info)
                return obj

            return decorator
        if name in self._entries:
            raise DuplicateNameError(f"{self.kind} {name!r} is already registered; choose another name")
        if not description and not isinstance(target, str):
            description = (getattr(target, "__doc__", None) or "").strip().split("\n")[0]
        self._entries[name] = _Entry(target, description, dict(info))
        return target

    def _discover(self) -> None:
        if self.discover:
            from benchmark.plugins import load_entry_point_plugins

            load_entry_point_plugins()

    def _entry(self, name: str) -> _Entry:
        if name not in self._entries:
            self._discover()
        entry = self._entries.get(name)
        if entry is None:
            raise UnknownNameError(
                f"Unknown {self.kind} {name!r}.{did_you_mean(name, self.names())} "
                f"Available: {', '.join(self.names()) or 'none'}."
            )
        return entry

    def get(self, name: str) -> T:
        entry = self._entry(name)
        if isinstance(entry.target, str):
            try:
                entry.target = import_object(entry.target)
            except (ImportError, AttributeError, ValueError) as error:  # a plugin's lazy target
                raise UserInputError(
                    f"{self.kind} {name!r} is registered as {entry.target!r}, which cannot be imported "
                    f"({type(error).__name__}: {error})"
                ) from None
            if not entry.description:
                doc = getattr(entry.target, "__doc__", None) or ""
                entry.description = doc.strip().split("\n")[0]
        return entry.target

    def info(self, name: str) -> dict[str, Any]:
        """The facts registered beside ``name`` (without importing a lazy target)."""
        return dict(self._entry(name).info)

    def describe(self, name: str) -> str:
        if name not in self._entries:
            self._discover()
        return self._entries[name].description if name in self._entries else ""

    def position(self, name: str) -> int:
        """Where ``name`` was registered among the entries (display order); unknown names last."""
        names = list(self._entries)
        return names.index(name) if name in self._entries else len(names)

    def names(self) -> list[str]:
        self._discover()
        return sorted(self._entries)

    def __contains__(self, name: object) -> bool:
        if name not in self._entries:
            self._discover()
        return name in self._entries

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def unregister(self, name: str) -> None:
        """Remove an entry (tests and plugin reloading only)."""
        self._entries.pop(name, None)
