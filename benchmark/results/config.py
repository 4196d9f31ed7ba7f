"""RecordConfig: a record's identity, typed, with each field's place in the tables.

A record's key is the hash of its config's dict form (decision 7); :meth:`RecordConfig.to_dict` gives
the form records have always had (the fields every record holds, ``None`` included, plus the optional
ones that are set), so an unchanged config keeps its key. Each field declares where it stands in a
table (:data:`PLACES`); :mod:`benchmark.results.frame` takes the frame's columns, the settings a row
label names and a continual run's identity from these declarations, so a new field that can change a
number reaches the tables' row keys, or says why it need not.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields, replace
from typing import Any

# Where a field stands in a table:
PLACES = {
    "table": "chooses the table (one per dataset, suite and profile)",
    "cell": "identifies a row or column of the table (strategy spec, IPC, network)",
    "column": "chooses the column within a row (a continual step)",
    "setting": "shown in the row label wherever records of one table differ in it",
    "replicate": "an observation averaged into its cell (declared irrelevant to the row key)",
    "derived": "follows from other fields (the strategy from the spec, the evaluation seed from the "
    "buffer keys and the repeat)",
    "runtime": "how the number was computed, not what it is of: written, never hashed into the record key "
    "and never in a row key (declared irrelevant to both, like the thread count)",
}
NUMBER, TEXT, MAPPING = (int, float), (str,), (dict,)


def _field(place: str, kinds: tuple[type, ...], *, always: bool = True, column: bool = True) -> Any:
    """A config field: its ``place`` (:data:`PLACES`), the JSON types it takes, whether its key is
    hashed when it is None (``always``: the fields every record has held; the others only when set,
    so adding one keeps the keys of older configs) and whether it is a column of the records frame.
    A ``runtime`` field is written when set and never hashed (:func:`keyed`)."""
    return field(default=None, metadata={"place": place, "kinds": kinds, "always": always, "column": column})


@dataclass(frozen=True)
class RecordConfig:
    """What a record is of. ``spec`` is the canonical resolved spec, ``strategy`` its name; ``step``
    counts from 0; ``eval_recipe`` is the recipe's description (``EvalRecipe.describe``)."""

    dataset: str = _field("table", TEXT)
    preprocessing: str | None = _field("setting", TEXT)
    suite: str = _field("table", TEXT)
    profile: str = _field("table", TEXT)
    spec: str = _field("cell", TEXT)
    strategy: str | None = _field("derived", TEXT)
    ipc: int | None = _field("cell", (int,))
    network: str | None = _field("cell", TEXT)
    eval_recipe: dict[str, Any] | None = _field("setting", MAPPING, column=False)
    step: int | None = _field("column", (int,))
    steps: int | None = _field("setting", (int,))
    class_order: int | None = _field("replicate", (int,))
    distill_seed: int | None = _field("replicate", (int,))
    repeat: int | None = _field("replicate", (int,))
    eval_seed: int | None = _field("derived", (int,))
    # the corruption suite's test sets (source, corruptions, severities, generation seed)
    corruptions: dict[str, Any] | None = _field("setting", MAPPING, always=False, column=False)
    # an outside set's value space and content digest (benchmark/external.py)
    values: str | None = _field("setting", TEXT, always=False, column=False)
    set_sha256: str | None = _field("setting", TEXT, always=False, column=False)
    # a suite's own settings (its class's ``record_fields``), name → value: each one is read as a
    # setting from the record alone, as the recipe's keys are
    suite_fields: dict[str, Any] | None = _field("setting", MAPPING, always=False, column=False)
    # ``--compile`` as the training started: on | off (auto resolved; a compilation that fails warns and
    # trains eagerly; None: written before records said). Runtime, not a setting: compiled and eager
    # training agree to rounding, as two thread counts do, far below the spread over seeds; a setting
    # would split a resumed run's rows into old and new records, and a key would make ``run`` redo
    # every record written before (docs/decisions.md decision 7).
    compile: str | None = _field("runtime", TEXT, always=False)

    def to_dict(self) -> dict[str, Any]:
        """The record's ``config`` as written, optional fields only when set (:func:`keyed`: the part
        its key hashes)."""
        described = asdict(self)
        return {
            f.name: described[f.name]
            for f in fields(self)
            if f.metadata["always"] or described[f.name] is not None
        }

    @classmethod
    def from_dict(cls, config: dict[str, Any]) -> RecordConfig:
        """The typed view of a record's config; keys it does not know (a cell's failure record names
        its seed) are left to the dict."""
        return cls(**{name: config.get(name) for name in FIELDS})

    def with_fields(self, **changes: Any) -> RecordConfig:
        """A copy with ``changes`` (a unit's fields); an unknown name is an error, not a silent key."""
        unknown = sorted(set(changes) - set(FIELDS))
        if unknown:
            raise TypeError(f"RecordConfig has no field {', '.join(unknown)}")
        return replace(self, **changes)


FIELDS = {f.name: f for f in fields(RecordConfig)}
UNKEYED = frozenset(name for name, f in FIELDS.items() if f.metadata["place"] == "runtime")


def keyed(config: dict[str, Any]) -> dict[str, Any]:
    """The part of a record's config its key hashes (decision 7): all of it but the runtime fields."""
    return {name: value for name, value in config.items() if name not in UNKEYED}


def fields_at(place: str) -> list[str]:
    """The config fields of one place, in declaration order."""
    return [name for name, f in FIELDS.items() if f.metadata["place"] == place]


FRAME_COLUMNS = [name for name, f in FIELDS.items() if f.metadata["column"]]
CONFIG_TYPES = {name: f.metadata["kinds"] for name, f in FIELDS.items()}
