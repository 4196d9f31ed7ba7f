"""``run``: resolve the profile and suite, run its cells with an executor, return the table."""

from __future__ import annotations

import pandas as pd

from benchmark.plugins import load_entry_point_plugins
from benchmark.profiles import load_profile
from benchmark.registries import EXECUTORS, SUITES
from benchmark.results.tables import long_frame
from benchmark.suites.options import RunOptions
from benchmark.suites.workbench import Workbench


def run(options: RunOptions) -> pd.DataFrame:
    """Run (or resume) a suite; returns its mean ± std table over this profile's records."""
    load_entry_point_plugins()
    profile = load_profile(options.profile)
    suite_cls = SUITES.get(options.suite)
    executor = EXECUTORS.get(options.executor)()
    bench = Workbench(options, profile)
    suite = suite_cls(options, profile, bench)
    executor.run(suite, suite.cells())
    records = [
        r
        for r in bench.store.records(suite.name)
        if r["config"]["profile"] == profile.name and r["config"]["dataset"] in suite.settings["datasets"]
    ]
    return suite.table(long_frame(records))
