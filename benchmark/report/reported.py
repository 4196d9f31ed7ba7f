"""Published numbers (``reported.csv``): the SPEED paper's Tables 1–5 and PROTOCOL.md §10's Fashion-MNIST
DC/DSA numbers, in percent, each with its source. They are shown beside measured results and never ranked.
"""

from __future__ import annotations

from importlib import resources
from typing import Any

CAUTION = (
    "Reported numbers are copied from their sources and are never ranked or bolded with measured "
    "results. The TM, HaBa and SPEED references report the best mean over several evaluation points "
    "during distillation (selection on the test set); this project reports the final buffer only, so "
    "equal methods should come out slightly lower here. The SPEED paper also prints different numbers "
    "for the same baseline cell in different tables (e.g. TM CIFAR10 IPC 1: 46.3 in Table 1, 44.2 in "
    "Table 3), so each reported number keeps its table as part of its source."
)


def load_reported():
    """The reported numbers as a DataFrame (``ipc`` and ``step`` nullable integers; mean/std in percent)."""
    import pandas as pd

    with resources.files("benchmark.report").joinpath("reported.csv").open("r", encoding="utf-8") as f:
        frame = pd.read_csv(f, dtype={"spec": str, "note": str, "std": float, "mean": float})
    frame["spec"] = frame["spec"].fillna("")
    frame["note"] = frame["note"].fillna("")
    frame["ipc"] = frame["ipc"].astype("Int64")
    frame["step"] = frame["step"].astype("Int64")
    return frame


def parse_spec(spec: str) -> tuple[str, dict[str, str]]:
    """``name:key=value:…`` → (name, {key: value as text}); tolerant of a bare ``key=value:…``."""
    parts = [p for p in str(spec).split(":") if p]
    name = ""
    if parts and "=" not in parts[0]:
        name = parts.pop(0)
    keys = {}
    for part in parts:
        key, _, value = part.partition("=")
        keys[key] = value
    return name, keys


def spec_matches(measured_spec: str, reported_keys: str) -> bool:
    """Whether every ``key=value`` of a reported row holds in a measured resolved spec.

    Values compare as text after light normalisation (``48`` = ``48.0``; ``True`` = ``true``)."""
    _, wanted = parse_spec(reported_keys)
    _, have = parse_spec(measured_spec)
    return all(key in have and _norm(have[key]) == _norm(value) for key, value in wanted.items())


def _norm(value: Any) -> str:
    text = str(value).strip().lower()
    try:
        number = float(text)
    except ValueError:
        return text
    return repr(int(number)) if number.is_integer() else repr(number)


def reported_label(row: Any) -> str:
    spec = f":{row['spec']}" if row["spec"] else ""
    return f"{row['strategy']}{spec} (reported, {row['table']})"
