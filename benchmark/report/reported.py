"""Published numbers, each with its source, shown beside measured results and never ranked.

A source is a CSV file (columns: source, table, dataset, suite, strategy, spec, ipc, network, metric,
step, mean, std, note; mean/std in percent; ``spec`` holds ``key=value:…`` that must hold in a
measured spec for it to be compared) registered in ``REPORTED`` as a :class:`ReportedNumbers`, by
the package that knows those numbers (``speed``: the SPEED paper's tables; ``baselines``: the DC/DSA
papers' Fashion-MNIST numbers), like any other plugin entry.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from typing import Any

COLUMNS = ["source", "table", "dataset", "suite", "strategy", "spec", "ipc", "network", "metric", "step",
           "mean", "std", "note"]  # fmt: skip


@dataclass(frozen=True)
class ReportedNumbers:
    """A CSV of published numbers shipped inside ``package``, with a caution shown beside them."""

    package: str
    filename: str
    caution: str = ""

    def load(self):
        import pandas as pd

        with resources.files(self.package).joinpath(self.filename).open("r", encoding="utf-8") as f:
            frame = pd.read_csv(f, dtype={"spec": str, "note": str, "std": float, "mean": float})
        frame["spec"] = frame["spec"].fillna("")
        frame["note"] = frame["note"].fillna("")
        frame["ipc"] = frame["ipc"].astype("Int64")
        frame["step"] = frame["step"].astype("Int64")
        frame["caution"] = self.caution
        return frame


def load_reported():
    """Every registered source's numbers in one DataFrame (empty, with the columns, if none)."""
    import pandas as pd

    from benchmark.registries import REPORTED

    frames = [REPORTED.get(name).load() for name in REPORTED.names()]
    if not frames:
        return pd.DataFrame(columns=[*COLUMNS, "caution"])
    return pd.concat(frames, ignore_index=True)


def spec_keys(spec: str) -> dict[str, Any]:
    """``key=value:…`` (a reported row's ``spec``) → typed values, as a spec's parameters parse."""
    from benchmark.spec import parse_value

    keys = {}
    for part in (p for p in str(spec).split(":") if p):
        key, _, value = part.partition("=")
        keys[key] = parse_value(value)
    return keys


def spec_matches(measured_spec: str, reported_keys: str) -> bool:
    """Whether every ``key=value`` of a reported row holds in a measured resolved spec."""
    from benchmark.spec import parse_spec

    have = parse_spec(measured_spec).params
    return all(key in have and have[key] == value for key, value in spec_keys(reported_keys).items())


def reported_label(row: Any) -> str:
    spec = f":{row['spec']}" if row["spec"] else ""
    return f"{row['strategy']}{spec} (reported, {row['table']})"
