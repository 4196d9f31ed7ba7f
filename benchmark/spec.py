"""Strategy specs (decision 1): ``name[:key=value[:key=value…]]`` and their canonical form.

Values parse as int, float, bool (``true``/``false``) or string. Each strategy declares the keys it
accepts as :class:`Param`; unknown keys and bad values are errors naming the accepted keys. A key
renamed since specs were stored keeps its former name (``Param.formerly``): a spec giving the former
name is read as the key, so stored buffers' specs still resolve (to the new name, hence a new key).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from benchmark.errors import UserInputError

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_\-]*$")
_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_TYPE_WORDS = {int: "an integer", float: "a number", bool: "true or false", str: "a string"}


@dataclass(frozen=True)
class Param:
    """One accepted key: its default, help, and constraints."""

    default: Any
    help: str = ""
    choices: tuple | None = None
    minimum: float | None = None
    maximum: float | None = None
    type: type | None = None  # inferred from the default when None
    registry: str | None = None  # a registry of benchmark.registries whose names are the valid values
    check: Callable[[Any], None] | None = None  # raises UserInputError for a value the rest allows
    formerly: str | None = None  # the key's name before a rename, still read from specs

    @property
    def value_type(self) -> type | None:
        return self.type or (type(self.default) if self.default is not None else None)

    def validate(self, key: str, value: Any, strategy: str) -> Any:
        """The value converted to this param's type, or a UserInputError naming the fix."""
        kind = self.value_type
        if value is None and self.default is None:
            return None
        if kind is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        problem = None
        wrong_type = kind is not None and (
            not isinstance(value, kind) or (kind is int and isinstance(value, bool))
        )
        if wrong_type:
            problem = f"is not {_TYPE_WORDS.get(kind, kind.__name__)}"
        elif kind is float and not math.isfinite(value):
            problem = "is not a finite number"
        elif self.choices is not None and value not in self.choices:
            problem = "is not allowed"
        elif self.registry is not None and value not in self._registry():
            problem = f"is not a registered {self._registry().kind}"
        elif self.minimum is not None and value < self.minimum:
            problem = "is too small"
        elif self.maximum is not None and value > self.maximum:
            problem = "is too large"
        if problem:
            raise UserInputError(
                f"{strategy}: {key}={format_value(value)} {problem}; {self._expectation(key)}"
            )
        if self.check is not None:
            try:
                self.check(value)
            except UserInputError as error:
                raise UserInputError(f"{strategy}: {key}={format_value(value)}: {error}") from None
        return value

    def _registry(self):
        from benchmark import registries

        return getattr(registries, self.registry)

    def _expectation(self, key: str) -> str:
        if self.registry is not None:
            return f"{key} must be one of {', '.join(self._registry().names())}"
        if self.choices is not None:
            return f"{key} must be one of {', '.join(map(format_value, self.choices))}"
        bounds = []
        if self.minimum is not None:
            bounds.append(f">= {self.minimum:g}")
        if self.maximum is not None:
            bounds.append(f"<= {self.maximum:g}")
        kind = _TYPE_WORDS.get(self.value_type, "value")
        return f"{key} must be {kind}" + (f" {' and '.join(bounds)}" if bounds else "")


@dataclass(frozen=True)
class Spec:
    name: str
    params: dict[str, Any] = field(default_factory=dict)

    def canonical(self) -> str:
        return canonical(self.name, self.params)


def parse_value(text: str) -> Any:
    lowered = text.lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    for convert in (int, float):
        try:
            return convert(text)
        except ValueError:
            pass
    return text


def format_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value)
    return str(value)


def canonical(name: str, params: dict[str, Any]) -> str:
    return ":".join([name] + [f"{k}={format_value(params[k])}" for k in sorted(params)])


def parse_spec(text: str) -> Spec:
    """Parse one spec; malformed text raises UserInputError explaining the grammar."""
    if not isinstance(text, str):
        raise UserInputError(f"strategy spec must be a string, got {text!r}")
    grammar = "write specs as name[:key=value...], e.g. speed:objective=dm:k=24"
    parts = text.strip().split(":")
    name = parts[0]
    if not _NAME.match(name):
        raise UserInputError(f"malformed strategy spec {text!r}: bad strategy name {name!r}; {grammar}")
    params: dict[str, Any] = {}
    for part in parts[1:]:
        key, sep, value = part.partition("=")
        if not sep or not _KEY.match(key) or value == "":
            raise UserInputError(f"malformed strategy spec {text!r}: {part!r} is not key=value; {grammar}")
        if key in params:
            raise UserInputError(f"malformed strategy spec {text!r}: key {key!r} given twice")
        params[key] = parse_value(value)
    return Spec(name, params)


def parse_spec_list(text: str) -> list[Spec]:
    """``--strategies a,b:k=1`` → specs (separated by commas)."""
    specs = [parse_spec(part) for part in text.split(",") if part.strip()]
    if not specs:
        raise UserInputError("no strategy given; e.g. --strategies random,dm")
    return specs


def validate_params(strategy: str, declared: dict[str, Param], given: dict[str, Any]) -> dict[str, Any]:
    """Check keys and values of ``given`` against ``declared``; returns converted values, keys given by
    a former name under their name."""
    given = renamed(strategy, declared, given)
    unknown = sorted(set(given) - set(declared))
    if unknown:
        from benchmark.registry import did_you_mean

        accepted = ", ".join(sorted(declared)) or "none"
        raise UserInputError(
            f"strategy {strategy!r} does not accept {', '.join(unknown)};"
            f"{did_you_mean(unknown[0], sorted(declared))} accepted keys: {accepted}"
        )
    return {key: declared[key].validate(key, value, strategy) for key, value in given.items()}


def former_names(declared: dict[str, Param]) -> dict[str, str]:
    """Former name → key, for the declared keys renamed since specs were stored."""
    return {param.formerly: key for key, param in declared.items() if param.formerly}


def renamed(strategy: str, declared: dict[str, Param], given: dict[str, Any]) -> dict[str, Any]:
    """``given`` with each key given by its former name under its name."""
    former = former_names(declared)
    both = [old for old in given if old in former and former[old] in given]
    if both:
        old = both[0]
        raise UserInputError(f"strategy {strategy!r}: {old} is the former name of {former[old]}; give one")
    return {former.get(key, key): value for key, value in given.items()}
