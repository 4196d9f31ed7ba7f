"""Profiles (decision 9): suite-level settings in TOML files shipped with the package.

``quick`` is the CPU default; ``paper`` reproduces the published protocols. The profile name is
part of every record, so tables never mix them.

Preprocessing is part of the profile and dataset, not of the strategy (decision 5): a top-level
``[preprocessing]`` table maps datasets to ``zca`` (default ``meanstd``); a suite's own
``preprocessing`` table replaces it (the continual suite: mean/std only, decision 6).
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

from benchmark.errors import UnknownNameError, UserInputError
from benchmark.training.recipe import EvalRecipe


@dataclass(frozen=True)
class Profile:
    name: str
    description: str
    suites: dict[str, dict[str, Any]]
    preprocessings: dict[str, str] = field(default_factory=dict)

    def suite(self, suite: str) -> dict[str, Any]:
        if suite not in self.suites:
            raise UserInputError(
                f"profile {self.name!r} has no settings for suite {suite!r}; it has: {', '.join(self.suites)}"
            )
        return {k: v for k, v in self.suites[suite].items() if k not in ("recipes", "preprocessing")}

    def preprocessing(self, suite: str | None, dataset: str) -> str:
        """``meanstd`` or ``zca`` for ``dataset`` in ``suite`` (None: the profile's own table)."""
        table = self.suites.get(suite, {}).get("preprocessing", self.preprocessings) if suite else None
        return (self.preprocessings if table is None else table).get(dataset, "meanstd")

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
    preprocessings = settings.pop("preprocessing", {})
    return Profile(name, description, settings, preprocessings)
