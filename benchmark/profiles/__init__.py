"""Profiles (decision 9): ``quick`` (the CPU default), ``paper`` (the published protocols), ``smoke``.

A suite carries its own default settings for each profile next to its code (``Suite.defaults``), so
an outside suite needs no harness file. A profile's TOML file here holds its description, its
dataset preprocessing, and optional overrides: a ``[<suite>]`` table replaces settings of that suite
(``[<suite>.recipes.<network>]`` one network's recipe keys). The profile name is part of every
record, so tables never mix profiles.

Preprocessing is part of the profile and dataset, not of the strategy (decision 5): the top-level
``[preprocessing]`` table maps datasets to ``zca`` (default ``meanstd``); a suite's own
``preprocessing`` setting replaces it (the continual suite: mean/std only, decision 6).

A profile file is checked when it is loaded, before any work: malformed TOML, a table that is no
suite, a key the suite does not have, a value of the wrong type, a recipe of an unknown network or
with a bad value are each one line naming the file and the key.
"""

from __future__ import annotations

import copy
import tomllib
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

from benchmark.errors import UnknownNameError, UserInputError


@dataclass(frozen=True)
class Profile:
    name: str
    description: str
    overrides: dict[str, dict[str, Any]] = field(default_factory=dict)  # suite → settings
    preprocessings: dict[str, str] = field(default_factory=dict)  # dataset → meanstd | zca

    def settings(self, suite: type) -> dict[str, Any]:
        """The suite's defaults for this profile with this profile's overrides on top."""
        defaults = suite.defaults.get(self.name)
        override = self.overrides.get(suite.name)
        if defaults is None and override is None:
            have = ", ".join(sorted(suite.defaults)) or "none"
            raise UserInputError(
                f"suite {suite.name!r} has no settings for profile {self.name!r}; use --profile with "
                f"one of: {have}"
            )
        merged = copy.deepcopy(defaults or {})
        for key, value in copy.deepcopy(override or {}).items():
            if key == "recipes":
                recipes = merged.setdefault("recipes", {})
                for network, keys in value.items():
                    recipes[network] = recipes.get(network, {}) | keys
            else:
                merged[key] = value
        return merged

    def preprocessing(self, dataset: str) -> str:
        """``meanstd`` or ``zca`` for ``dataset`` outside any suite's own setting."""
        return self.preprocessings.get(dataset, "meanstd")


def profile_names() -> list[str]:
    folder = resources.files("benchmark.profiles")
    return sorted(p.name[: -len(".toml")] for p in folder.iterdir() if p.name.endswith(".toml"))


def load_profile(name: str) -> Profile:
    from benchmark.registry import did_you_mean

    names = profile_names()
    if name not in names:
        raise UnknownNameError(
            f"Unknown profile {name!r}.{did_you_mean(name, names)} Available: {', '.join(names)}."
        )
    text = resources.files("benchmark.profiles").joinpath(f"{name}.toml").read_text()
    return parse_profile(name, text, f"benchmark/profiles/{name}.toml")


# A setting's TOML type: lists of names or numbers, or one integer.
LIST_SETTINGS = ("datasets", "strategies", "ipc", "seeds", "networks", "class_orders")
INT_SETTINGS = ("repeats", "steps")


def parse_profile(name: str, text: str, origin: str) -> Profile:
    """A profile from its TOML text, checked (see the module docstring); ``origin`` names the file."""
    try:
        settings = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise UserInputError(f"profile file {origin}: malformed TOML ({error})") from None
    description = settings.pop("description", "")
    preprocessings = settings.pop("preprocessing", {})
    if not isinstance(description, str):
        raise UserInputError(f"profile file {origin}: description = {description!r} is not a string")
    if not isinstance(preprocessings, dict) or any(
        v not in ("meanstd", "zca") for v in preprocessings.values()
    ):
        raise UserInputError(f'profile file {origin}: [preprocessing] maps datasets to "meanstd" or "zca"')
    for suite, table in settings.items():
        _check_suite_table(origin, suite, table)
    return Profile(name, description, settings, preprocessings)


def _check_suite_table(origin: str, suite: str, table: Any) -> None:
    from benchmark.registries import NETWORKS, SUITES
    from benchmark.registry import did_you_mean
    from benchmark.training.recipe import EvalRecipe

    where = f"profile file {origin}: [{suite}]"
    if suite not in SUITES.names() or not isinstance(table, dict):
        names = SUITES.names()
        raise UserInputError(
            f"{where} is not a suite's table.{did_you_mean(suite, names)} Suites: {', '.join(names)}"
        )
    known = {key for settings in SUITES.get(suite).defaults.values() for key in settings}
    for key, value in table.items():
        if key not in known:
            accepted = sorted(known)
            raise UserInputError(
                f"{where} has no setting {key!r}.{did_you_mean(key, accepted)} Known: {', '.join(accepted)}"
            )
        if key in LIST_SETTINGS and not isinstance(value, list):
            raise UserInputError(f"{where} {key} = {value!r}: a list is expected, e.g. {key} = [{value!r}]")
        if key in INT_SETTINGS and (not isinstance(value, int) or isinstance(value, bool)):
            raise UserInputError(f"{where} {key} = {value!r}: an integer is expected")
    recipes = table.get("recipes", {})
    if not isinstance(recipes, dict) or not all(isinstance(keys, dict) for keys in recipes.values()):
        raise UserInputError(
            f"{where} recipes: a table of tables is expected, e.g. [{suite}.recipes.ConvNet]"
        )
    for network, keys in recipes.items():
        if network != "default" and network not in NETWORKS:
            raise UserInputError(
                f"{where} recipes.{network}: no such network.{did_you_mean(network, NETWORKS.names())}"
            )
        try:
            EvalRecipe.from_settings(keys)
        except (UserInputError, TypeError) as error:
            raise UserInputError(f"{where} recipes.{network}: {error}") from None
