"""Is one strategy ahead of another? Differences of mean accuracy with Welch 95 % confidence intervals.

The unit of observation is one distillation seed: the mean accuracy (percent) of the evaluation
networks trained on that seed's buffer. Networks evaluating one buffer share its distillation, so
treating them as independent draws of the method would shrink the interval without new evidence.
Welch's t (unequal variances, Welch–Satterthwaite degrees of freedom) needs at least two seeds on
each side; with fewer the interval is left empty. A difference is called ahead or behind only when
its interval excludes 0.

Cells are compared within (dataset, suite, profile, recipe, ipc, network, continual step) on the
``accuracy`` metric, in every suite (the corruption suite's ``accuracy`` is the clean one; a
continual seed's observation is the mean over its class orders and networks at that step).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from benchmark.results.frame import records_frame

GROUP_KEYS = ["dataset", "suite", "profile", "recipe", "ipc", "network", "step"]
COLUMNS = GROUP_KEYS + [
    "strategy", "baseline", "seeds", "baseline_seeds", "mean", "std", "baseline_mean", "baseline_std",
    "difference", "ci_low", "ci_high", "verdict",
]  # fmt: skip


def welch_interval(a: Sequence[float], b: Sequence[float], level: float = 0.95) -> tuple[float, float, float]:
    """mean(a) − mean(b) and its Welch ``level`` confidence interval; NaN bounds with < 2 values a side."""
    from scipy.stats import t as student_t

    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    difference = float(a.mean() - b.mean())
    if len(a) < 2 or len(b) < 2:
        return difference, math.nan, math.nan
    va, vb = a.var(ddof=1) / len(a), b.var(ddof=1) / len(b)
    se = math.sqrt(va + vb)
    if se == 0.0:  # identical values within each side: the difference is exact
        return difference, difference, difference
    dof = (va + vb) ** 2 / (va**2 / (len(a) - 1) + vb**2 / (len(b) - 1))
    half = float(student_t.ppf(0.5 + level / 2, dof)) * se
    return difference, difference - half, difference + half


def verdict(low: float, high: float) -> str:
    if math.isnan(low):
        return "too few seeds"
    if low > 0:
        return "ahead"
    if high < 0:
        return "behind"
    return "no clear difference"


def seed_means(frame: pd.DataFrame) -> dict[str, pd.Series]:
    """Per strategy label: the mean accuracy (percent) of each distillation seed's ok networks."""
    ok = frame[(frame["status"] == "ok") & frame["value"].notna()]
    return {
        label: group.groupby("distill_seed")["value"].mean().astype(float) * 100
        for label, group in ok.groupby("label", sort=True)
    }


def contrast_frame(
    records: list[dict[str, Any]], baselines: Sequence[str] = (), level: float = 0.95
) -> pd.DataFrame:
    """One row per (cell group, strategy, baseline). ``baselines`` are strategy labels (as tables show
    them); each other strategy is compared with each of them, and two baselines with each other once
    (against the one listed first). Without baselines every pair is compared
    once, the strategy with the higher mean first."""
    if not records:
        return pd.DataFrame(columns=COLUMNS)
    frame = records_frame(records)
    frame = frame[frame["metric"] == "accuracy"]
    rows = []
    for values, group in frame.groupby(GROUP_KEYS, dropna=False, sort=True):
        means = seed_means(group)
        for strategy, baseline in _pairs(means, baselines):
            a, b = means[strategy], means[baseline]
            difference, low, high = welch_interval(a.values, b.values, level)
            rows.append(
                dict(zip(GROUP_KEYS, values, strict=True))
                | {
                    "strategy": strategy,
                    "baseline": baseline,
                    "seeds": len(a),
                    "baseline_seeds": len(b),
                    "mean": a.mean(),
                    "std": a.std(ddof=1) if len(a) > 1 else math.nan,
                    "baseline_mean": b.mean(),
                    "baseline_std": b.std(ddof=1) if len(b) > 1 else math.nan,
                    "difference": difference,
                    "ci_low": low,
                    "ci_high": high,
                    "verdict": verdict(low, high),
                }
            )
    return pd.DataFrame(rows, columns=COLUMNS)


def _pairs(means: dict[str, pd.Series], baselines: Sequence[str]) -> list[tuple[str, str]]:
    labels = list(means)
    if baselines:
        pairs, seen = [], set()
        for baseline in (b for b in baselines if b in means):
            for strategy in labels:
                if strategy != baseline and frozenset((strategy, baseline)) not in seen:
                    seen.add(frozenset((strategy, baseline)))  # two baselines: their pair once
                    pairs.append((strategy, baseline))
        return pairs
    pairs = []
    for i, first in enumerate(labels):
        for second in labels[i + 1 :]:
            ahead = means[first].mean() >= means[second].mean()
            pairs.append((first, second) if ahead else (second, first))
    return pairs


def format_contrast(frame: pd.DataFrame) -> str:
    """A plain-text table: each difference in points with its interval and verdict."""
    lines = []
    for values, group in frame.groupby(GROUP_KEYS, dropna=False, sort=True):
        cell = dict(zip(GROUP_KEYS, values, strict=True))
        step = cell["step"]
        lines.append(
            f"{cell['dataset']} · {cell['suite']} · {cell['profile']} · IPC {cell['ipc']} · {cell['network']}"
            + ("" if step is None or step != step else f" · step {int(step) + 1}")
            + ("" if cell["recipe"] == "suite" else f" · {cell['recipe']} recipe")
        )
        for _, row in group.iterrows():
            interval = "" if math.isnan(row["ci_low"]) else f" [{row['ci_low']:+.2f}, {row['ci_high']:+.2f}]"
            lines.append(
                f"  {row['strategy']} − {row['baseline']}: {row['difference']:+.2f}{interval}  "
                f"({row['verdict']}; {row['mean']:.2f} over {row['seeds']} seeds vs "
                f"{row['baseline_mean']:.2f} over {row['baseline_seeds']})"
            )
    return "\n".join(lines)
