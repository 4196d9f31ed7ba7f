"""``run``: resolve the profile and suite, run its cells with an executor, return its tables."""

from __future__ import annotations

import logging

import benchmark
from benchmark.engine import Engine
from benchmark.options import RunOptions
from benchmark.profiles import load_profile
from benchmark.registries import EXECUTORS, SUITES
from benchmark.strategy import former_keys

LOG = logging.getLogger("benchmark")


def run(options: RunOptions) -> list:
    """Run (or resume) a suite; returns the tables of this profile's records of its datasets."""
    from benchmark.report.tables import build_tables

    profile = load_profile(options.selection.profile)
    suite_cls = SUITES.get(options.selection.suite)
    executor = EXECUTORS.get(options.execution.executor)()
    engine = Engine(options.engine, profile)
    suite = suite_cls(options, profile, engine)
    cells = suite.cells()
    older = [
        r
        for r in engine.store.records(suite.name)
        if r.code.get("cache_version") != benchmark.CACHE_VERSION or former_keys(r.config["spec"])
    ]
    if older:  # keys hold the cache version and the resolved spec, so their cells are redone under new keys
        LOG.warning(
            "note: %d records under %s were made by an earlier version; show and leaderboard read them, "
            "this run does not resume them", len(older), engine.store.root,
        )  # fmt: skip
    for data in engine.buffers.loaded():
        source = data.source or "its loader"
        LOG.info("data: %s (%s) from %s, fingerprint %s", data.name, data.preprocessing, source,
                 data.fingerprint)  # fmt: skip
    LOG.info("%s (%s): %d cells", suite.name, profile.name, len(cells))
    with engine.store.exclusive_run():
        executor.run(suite, cells)
    records = [
        r
        for r in engine.store.records(suite.name)
        if r.config["profile"] == profile.name and r.config["dataset"] in suite.settings["datasets"]
    ]
    return build_tables(records)
