"""Records (decision 7): one per trained evaluation network, keyed by its resolved config.

A :class:`Record` is what a suite writes and every reader (``show``, the leaderboard, ``contrast``,
pandas) reads. Its ``config`` is the identity (hashed into ``key``); everything else is the result
and its provenance. ``config["spec"]`` is the canonical resolved strategy spec and
``config["strategy"]`` the strategy's name (see the glossary in docs/ARCHITECTURE.md); its fields
are :class:`benchmark.results.config.RecordConfig`'s. Records written before these names
(``strategy`` = spec, ``strategy_name`` = name) are read as if new.

A record stands alone: it carries what reading it needs (its strategy's ``role`` and ``label_parts``,
the spec keys every label of it shows), so what it means does not depend on the plugins installed
when it is read. Records written before they carried these are read with :data:`BUILT_IN_ROLES` and
the built-in components (:mod:`benchmark.results.frame`).
"""

from __future__ import annotations

import datetime as dt
import math
import subprocess
from dataclasses import asdict, dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import benchmark
from benchmark.cache import cache_key
from benchmark.results.config import CONFIG_TYPES, RecordConfig, keyed

STATUSES = ("ok", "failed", "does_not_fit")
# The roles of the built-in strategies not ``method``, for records written before records carried
# their role (every other strategy reads as ``method``).
BUILT_IN_ROLES = {"random": "reference", "whole": "upper_bound"}


def built_in_role(strategy: str | None) -> str:
    return BUILT_IN_ROLES.get(str(strategy), "method")


def record_key(config: dict[str, Any] | RecordConfig, code: dict[str, Any] | None = None) -> str:
    """Hash of the resolved config (profile included; timing and metrics excluded), with the code
    version that wrote it (``code``: a stored record's own ``code``; None: this code's)."""
    if isinstance(config, RecordConfig):
        config = config.to_dict()
    code = code or {}
    return cache_key("record", keyed(config), code.get("version"), code.get("cache_version"))


@cache
def git_commit() -> str | None:
    """The commit of the code that produced a result (recorded, never keyed)."""
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=Path(__file__).resolve().parent,
            capture_output=True,
            text=True,
            timeout=5,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None if out.returncode == 0 else None


def code_identity() -> dict[str, Any]:
    return {
        "version": benchmark.__version__,
        "cache_version": benchmark.CACHE_VERSION,
        "git_commit": git_commit(),
    }


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


@dataclass
class Record:
    """One trained evaluation network (``ok``), or the one record of a cell that ``failed`` or
    ``does_not_fit``. ``config``: its :class:`RecordConfig` (held in its dict form). ``role`` is the
    strategy's (method | reference | upper_bound); ``label_parts`` the spec keys its label always shows
    (components other than the strategy's default, e.g. ``objective`` of ``speed:objective=dm``)."""

    config: dict[str, Any]
    status: str
    metrics: dict[str, float] = field(default_factory=dict)
    storage: float | None = None
    budget: float | None = None
    learned_lr: float | None = None
    wall_time_s: dict[str, float] = field(default_factory=dict)
    error: str | None = None
    numbers: dict[str, Any] = field(default_factory=dict)
    buffer: str | None = None
    role: str | None = None  # None: a record written before records carried it (BUILT_IN_ROLES)
    label_parts: list[str] | None = None  # None: written before records carried them
    code: dict[str, Any] = field(default_factory=code_identity)
    runtime: dict[str, Any] = field(default_factory=dict)  # threads, device, torch: what numbers depend on
    command: str | None = None  # the command line that produced it (reproduce a row with it)
    # The buffer's soft labels (kind, temperature, loss); None: hard labels (and left out of the JSON)
    soft_labels: dict[str, Any] | None = None
    created: str = field(default_factory=_now)
    key: str = ""

    def __post_init__(self) -> None:
        if isinstance(self.config, RecordConfig):
            self.config = self.config.to_dict()
        if self.status not in STATUSES:
            raise ValueError(f"record status {self.status!r} is not one of {', '.join(STATUSES)}")
        if not self.key:
            self.key = record_key(self.config)
        if self.role is None:
            self.role = built_in_role(self.config.get("strategy"))

    @property
    def typed_config(self) -> RecordConfig:
        return RecordConfig.from_dict(self.config)

    @property
    def suite(self) -> str:
        return self.config["suite"]

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        if data["soft_labels"] is None:  # hard-label records keep the fields they always had
            del data["soft_labels"]
        return data

    @classmethod
    def from_json(cls, data: Any) -> Record:
        """A record from its JSON form, checked field by field (ValueError naming the first bad one);
        records of the older naming are renamed on the way in."""
        if not isinstance(data, dict) or not isinstance(data.get("config"), dict):
            raise ValueError("not a JSON object with a config object")
        data = dict(data)
        config = dict(data.pop("config"))
        _check_types("record", data, FIELD_TYPES, required=("key", "status"))
        parts = data.get("label_parts")
        if parts is not None and not all(isinstance(part, str) for part in parts):
            raise ValueError(f"record field 'label_parts' is {parts!r}, not a list of spec keys")
        if data["key"] != record_key(config, data.get("code")):
            raise ValueError("its key is not the hash of its config (edited, or copied under a new name)")
        if "strategy_name" in config and "spec" not in config:  # older naming
            config["spec"], config["strategy"] = config["strategy"], config.pop("strategy_name")
        required = ("dataset", "suite", "profile", "spec")
        if data["status"] == "ok":  # a trained network: everything that says what it was
            required += ("strategy", "network", "ipc", "repeat")
        _check_types("config", config, CONFIG_TYPES | CELL_TYPES, required=required)
        _check_names(config)
        if data["status"] not in STATUSES:
            raise ValueError(f"status {data['status']!r} is not one of {', '.join(STATUSES)}")
        metrics = data.get("metrics") or {}
        if data["status"] == "ok" and "accuracy" not in metrics:
            raise ValueError("an ok record without an accuracy")
        for name, value in metrics.items():
            finite = isinstance(name, str) and _number(value) and math.isfinite(value)
            if not finite or (name.startswith("accuracy") and not 0.0 <= value <= 1.0):
                raise ValueError(f"metric {name!r} is {value!r}, not a finite number (an accuracy in [0, 1])")
        known = set(cls.__dataclass_fields__) - {"config"}
        return cls(config=config, **{k: v for k, v in data.items() if k in known})


NAME_FIELDS = ("dataset", "suite", "profile", "strategy", "network", "preprocessing")


def _check_names(config: dict[str, Any]) -> None:
    """Names a reader turns into file names and table titles are safe names (no ``../``, no markup);
    the spec parses and holds no line break (it is a row label)."""
    from benchmark.errors import UserInputError
    from benchmark.paths import is_safe_name
    from benchmark.spec import parse_spec

    for name in NAME_FIELDS:
        if config.get(name) is not None and not is_safe_name(config[name]):
            raise ValueError(f"config field {name!r} is {config[name]!r}, not a name a file can have")
    spec = config["spec"]
    if not spec.isprintable():
        raise ValueError(f"config field 'spec' is {spec!r}: it holds a line break or a control character")
    try:
        parse_spec(spec)
    except UserInputError as error:
        raise ValueError(f"config field 'spec' is {spec!r}, not a strategy spec ({error})") from None


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


NUMBER, TEXT, MAPPING = (int, float), (str,), (dict,)
CELL_TYPES = {"seed": (int,)}  # a cell's failure record (benchmark/executors.py) names its seed
FIELD_TYPES = {
    "key": TEXT, "status": TEXT, "metrics": MAPPING, "storage": NUMBER, "budget": NUMBER,
    "learned_lr": NUMBER, "wall_time_s": MAPPING, "error": TEXT, "numbers": MAPPING, "buffer": TEXT,
    "role": TEXT, "code": MAPPING, "runtime": MAPPING, "created": TEXT, "command": TEXT,
    "soft_labels": MAPPING, "label_parts": (list,),
}  # fmt: skip


def _check_types(
    what: str, fields: dict[str, Any], types: dict[str, tuple], required: tuple[str, ...]
) -> None:
    """Each known field None (where not required) or of its type; bools are not numbers."""
    for name, kinds in types.items():
        value = fields.get(name)
        if value is None:
            if name in required:
                raise ValueError(f"{what} lacks {name!r}")
            continue
        if not isinstance(value, kinds) or (isinstance(value, bool) and bool not in kinds):
            raise ValueError(
                f"{what} field {name!r} is {value!r}, not {' or '.join(k.__name__ for k in kinds)}"
            )
