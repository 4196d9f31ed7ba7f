"""Profiles (decision 9): suite-level settings in TOML files shipped with the package.

``quick`` is the CPU default; ``paper`` reproduces the published protocols. The profile name is
part of every record, so tables never mix them.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from importlib import resources
from typing import Any

from benchmark.errors import UnknownNameError, UserInputError
from benchmark.training.recipe import EvalRecipe


@dataclass(frozen=True)
class Profile:
    name: str
    description: str
    suites: dict[str, dict[str, Any]]

    def suite(self, suite: str) -> dict[str, Any]:
        if suite not in self.suites:
            raise UserInputError(
                f"profile {self.name!r} has no settings for suite {suite!r}; it has: {', '.join(self.suites)}"
            )
        return {k: v for k, v in self.suites[suite].items() if k != "recipes"}

    def recipe(self, suite: str, network: str) -> EvalRecipe:
        """The suite's evaluation recipe for ``network`` (its ``default`` recipe if none is named)."""
        recipes = self.suites.get(suite, {}).get("recipes", {})
        settings = dict(recipes.get("default", {})) | dict(recipes.get(network, {}))
        return EvalRecipe.from_settings(settings)


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
    return Profile(name, description, settings)
