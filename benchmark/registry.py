"""One generic registry class for every kind of named thing (strategies, datasets, networks, …).

Entries are objects or lazy ``"module:attribute"`` strings imported on first use, which keeps
start-up fast. A name registered twice is an error; an unknown name is answered with the valid ones.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from benchmark.errors import UnknownNameError

T = TypeVar("T")


@dataclass
class _Entry:
    target: Any  # the object, or a "module:attribute" string not imported yet
    description: str


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

    def __init__(self, kind: str):
        self.kind = kind
        self._entries: dict[str, _Entry] = {}

    def register(self, name: str, target: T | str | None = None, *, description: str = ""):
        """Register ``target`` under ``name``; without a target, return a decorator."""
        if target is None:

            def decorator(obj: T) -> T:
                self.register(name, obj, description=description)
                return obj

            return decorator
        if name in self._entries:
            raise ValueError(f"{self.kind} {name!r} is registered twice")
        if not description and not isinstance(target, str):
            description = (getattr(target, "__doc__", None) or "").strip().split("\n")[0]
        self._entries[name] = _Entry(target, description)
        return target

    def get(self, name: str) -> T:
        entry = self._entries.get(name)
        if entry is None:
            raise UnknownNameError(
                f"Unknown {self.kind} {name!r}. Available: {', '.join(self.names()) or 'none'}."
            )
        if isinstance(entry.target, str):
            entry.target = import_object(entry.target)
            if not entry.description:
                doc = getattr(entry.target, "__doc__", None) or ""
                entry.description = doc.strip().split("\n")[0]
        return entry.target

    def describe(self, name: str) -> str:
        return self._entries[name].description if name in self._entries else ""

    def names(self) -> list[str]:
        return sorted(self._entries)

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def unregister(self, name: str) -> None:
        """Remove an entry (tests and plugin reloading only)."""
        self._entries.pop(name, None)
