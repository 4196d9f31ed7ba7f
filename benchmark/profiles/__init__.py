"""Profiles (decision 9): ``quick`` (the CPU default), ``paper`` (the published protocols), ``smoke``.

A suite carries its own default settings for each profile next to its code (``Suite.defaults``), so
an outside suite needs no harness file. A profile's TOML file here holds its description, its
dataset preprocessing, and optional overrides: a ``[<suite>]`` table replaces settings of that suite
(``[<suite>.recipes.<network>]`` one network's recipe keys). The profile name is part of every
record, so tables never mix profiles.

Preprocessing is part of the profile and dataset, not of the strategy (decision 5): the top-level
``[preprocessing]`` table maps datasets to ``zca`` (default ``meanstd``); a suite's own
``preprocessing`` setting replaces it (the continual suite: mean/std only, decision 6).
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
    names = profile_names()
    if name not in names:
        raise UnknownNameError(f"Unknown profile {name!r}. Available: {', '.join(names)}.")
    text = resources.files("benchmark.profiles").joinpath(f"{name}.toml").read_text()
    settings = tomllib.loads(text)
    description = settings.pop("description", "")
    preprocessings = settings.pop("preprocessing", {})
    return Profile(name, description, settings, preprocessings)
