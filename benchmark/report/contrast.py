"""Is one strategy ahead of another? Differences of mean accuracy with Welch 95 % confidence intervals.

The unit of observation is one distillation seed: the mean accuracy (percent) of the evaluation
networks trained on that seed's buffer. Networks evaluating one buffer share its distillation, so
treating them as independent draws of the method would shrink the interval without new evidence.
Welch's t (unequal variances, Welch–Satterthwaite degrees of freedom) needs at least two seeds on
each side; with fewer the interval is left empty. A difference is called ahead or behind only when
its interval excludes 0.

Beside the Welch interval, a paired one: where both strategies were distilled with the same seeds,
the per-seed differences (a − b on each seed both have) with a one-sample t interval
(:func:`paired_interval`), which removes what a seed does to both sides (its data order, its
initialisation) when the strategies share it; at least two shared seeds, else empty.

Comparisons made together are Holm-adjusted (:func:`holm`): all pairs of one cell in ``contrast``,
and the comparisons of a leader with the rest in the leaderboard's ranks (:func:`rank_groups`). Each
interval is drawn at the level at which Holm's step-down procedure tests it
(:func:`holm_interval_level`), so an interval excludes 0 exactly when its Holm-adjusted p-value is
below ``1 − level``.

Cells are compared within (dataset, suite, profile, recipe, ipc, network, continual step) on the
``accuracy`` metric, in every suite (the corruption suite's ``accuracy`` is the clean one). In the
continual suite a class order is an observation as a seed is (each order is its own stream), every
step is compared, and so is the average incremental accuracy of each run whose steps all succeeded;
the paired interval pairs the same seed and class order.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from benchmark.results.frame import records_frame

GROUP_KEYS = ["dataset", "suite", "profile", "recipe", "ipc", "network", "step", "measure"]
COLUMNS = GROUP_KEYS + [
    "strategy", "baseline", "seeds", "baseline_seeds", "mean", "std", "baseline_mean", "baseline_std",
    "difference", "ci_low", "ci_high", "p_holm", "verdict", "paired_seeds", "paired_difference",
    "paired_low", "paired_high", "paired_p_holm", "paired_verdict",
]  # fmt: skip


def welch_interval(a: Sequence[float], b: Sequence[float], level: float = 0.95) -> tuple[float, float, float]:
    """mean(a) − mean(b) and its Welch ``level`` confidence interval; NaN bounds with < 2 values a side."""
    from scipy.special import stdtrit  # Student t quantile; scipy.special imports far faster than stats

    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    difference = float(a.mean() - b.mean())
    if len(a) < 2 or len(b) < 2:
        return difference, math.nan, math.nan
    va, vb = a.var(ddof=1) / len(a), b.var(ddof=1) / len(b)
    se = math.sqrt(va + vb)
    if se == 0.0:  # identical values within each side: the difference is exact
        return difference, difference, difference
    dof = (va + vb) ** 2 / (va**2 / (len(a) - 1) + vb**2 / (len(b) - 1))
    half = float(stdtrit(dof, 0.5 + level / 2)) * se
    return difference, difference - half, difference + half


def welch_p_value(a: Sequence[float], b: Sequence[float]) -> float:
    """Two-sided p-value of Welch's t-test of equal means; NaN with < 2 values a side."""
    from scipy.special import stdtr  # Student t distribution function

    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if len(a) < 2 or len(b) < 2:
        return math.nan
    va, vb = a.var(ddof=1) / len(a), b.var(ddof=1) / len(b)
    difference = float(a.mean() - b.mean())
    if va + vb == 0.0:
        return 1.0 if difference == 0.0 else 0.0
    dof = (va + vb) ** 2 / (va**2 / (len(a) - 1) + vb**2 / (len(b) - 1))
    return float(2 * stdtr(dof, -abs(difference) / math.sqrt(va + vb)))


def paired_differences(a: pd.Series, b: pd.Series) -> np.ndarray:
    """a − b on each distillation seed both seed-indexed series have, in seed order."""
    common = a.index.intersection(b.index).sort_values()
    return (a.loc[common] - b.loc[common]).to_numpy(dtype=float)


def paired_interval(differences: Sequence[float], level: float = 0.95) -> tuple[float, float, float]:
    """The mean per-seed difference and its one-sample t ``level`` interval; NaN bounds below 2 seeds."""
    from scipy.special import stdtrit

    d = np.asarray(differences, dtype=float)
    if len(d) == 0:
        return math.nan, math.nan, math.nan
    mean = float(d.mean())
    if len(d) < 2:
        return mean, math.nan, math.nan
    se = float(d.std(ddof=1)) / math.sqrt(len(d))
    half = float(stdtrit(len(d) - 1, 0.5 + level / 2)) * se
    return mean, mean - half, mean + half


def paired_p_value(differences: Sequence[float]) -> float:
    """Two-sided p-value of the paired t-test (mean per-seed difference 0); NaN below 2 seeds."""
    from scipy.special import stdtr

    d = np.asarray(differences, dtype=float)
    if len(d) < 2:
        return math.nan
    se = float(d.std(ddof=1)) / math.sqrt(len(d))
    if se == 0.0:
        return 1.0 if d.mean() == 0.0 else 0.0
    return float(2 * stdtr(len(d) - 1, -abs(float(d.mean())) / se))


def holm(p_values: Sequence[float]) -> list[float]:
    """Holm's step-down adjusted p-values (NaN stays NaN and is not counted among the comparisons):
    the i-th smallest of m is multiplied by m − i + 1, then made non-decreasing, capped at 1."""
    order = sorted((i for i, p in enumerate(p_values) if not math.isnan(p)), key=lambda i: p_values[i])
    adjusted = [math.nan] * len(p_values)
    running = 0.0
    for step, i in enumerate(order):
        running = max(running, min(1.0, (len(order) - step) * p_values[i]))
        adjusted[i] = running
    return adjusted


def holm_interval_level(p_value: float, adjusted: float, level: float) -> float:
    """The confidence level of a comparison's interval under Holm: 1 − (1 − level)·p / p_holm, which
    is 1 − (1 − level)/(m − i + 1) for the i-th smallest p-value unless an earlier comparison stopped
    the step-down (then wider, so that the interval contains 0 as the adjusted p-value says)."""
    if math.isnan(p_value) or math.isnan(adjusted) or adjusted == 0.0:
        return level
    return 1 - (1 - level) * p_value / adjusted


def rank_groups(
    observations: dict[Any, Sequence[float]], level: float = 0.95
) -> tuple[dict[Any, int], list[dict[str, Any]]]:
    """Ranks that respect uncertainty. The method with the highest mean leads; every remaining method
    whose Holm-adjusted interval against the leader contains 0 (or cannot be computed: fewer than two
    seeds a side) shares its rank. The next group is led by the best method not yet ranked, compared
    with the methods left, and so on. Ranks count the methods above (1, 1, 3). Returns the ranks and
    the comparisons made (leader, other, difference leader − other, interval, adjusted p)."""
    remaining = sorted(observations, key=lambda k: -float(np.mean(observations[k])))
    ranks: dict[Any, int] = {}
    comparisons = []
    while remaining:
        leader, others = remaining[0], remaining[1:]
        p_values = [welch_p_value(observations[leader], observations[o]) for o in others]
        adjusted = holm(p_values)
        group = [leader]
        for other, p_value, p_holm in zip(others, p_values, adjusted, strict=True):
            level_i = holm_interval_level(p_value, p_holm, level)
            difference, low, high = welch_interval(observations[leader], observations[other], level_i)
            comparisons.append(
                {"leader": leader, "other": other, "difference": difference, "ci_low": low, "ci_high": high,
                 "p_holm": p_holm, "verdict": verdict(low, high)}
            )  # fmt: skip
            if not p_holm < 1 - level:
                group.append(other)
        rank = len(ranks) + 1
        ranks.update({member: rank for member in group})
        remaining = [k for k in remaining if k not in ranks]
    return ranks, comparisons


def verdict(low: float, high: float) -> str:
    if math.isnan(low):
        return "too few seeds"
    if low > 0:
        return "ahead"
    if high < 0:
        return "behind"
    return "no clear difference"


# The unit of observation: a distillation seed, and in the continual suite a class order as well
# (each order is its own stream of steps, so orders are independent observations of a method).
REPLICATE = ["distill_seed", "class_order"]
AVERAGE_INCREMENTAL = "average incremental"


def seed_means(frame: pd.DataFrame) -> dict[str, pd.Series]:
    """Per strategy label: the mean accuracy (percent) of each replicate's ok networks (a distillation
    seed; with its class order in the continual suite), indexed by the replicate."""
    ok = frame[(frame["status"] == "ok") & frame["value"].notna()]
    return {
        label: group.groupby(REPLICATE, dropna=False)["value"].mean().astype(float) * 100
        for label, group in ok.groupby("label", sort=True)
    }


def with_average_incremental(frame: pd.DataFrame) -> pd.DataFrame:
    """The accuracy rows plus, for continual runs (class order × seed × network × repeat) whose steps
    all succeeded, one row of their average incremental accuracy (``measure``), compared like a step."""
    frame = frame.assign(measure="accuracy")
    stepped = frame[frame["step"].notna()]
    if stepped.empty:
        return frame
    run_keys = ["dataset", "suite", "profile", "recipe", "ipc", "network", "label", *REPLICATE, "repeat"]
    averages = []
    for _, run in stepped.groupby(run_keys, dropna=False, sort=False):
        complete = (run["status"] == "ok").all() and len(run) == int(run["steps"].iloc[0])
        if complete:
            average = run.iloc[0].copy()
            average["step"], average["value"] = math.nan, run["value"].mean()
            average["measure"] = AVERAGE_INCREMENTAL
            averages.append(average)
    return pd.concat([frame, pd.DataFrame(averages)], ignore_index=True) if averages else frame


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
    frame = with_average_incremental(frame[frame["metric"] == "accuracy"])
    rows = []
    for values, group in frame.groupby(GROUP_KEYS, dropna=False, sort=True):
        means = seed_means(group)
        pairs = _pairs(means, baselines)
        p_values = [welch_p_value(means[s].values, means[b].values) for s, b in pairs]
        paired = [paired_differences(means[s], means[b]) for s, b in pairs]
        paired_p = [paired_p_value(d) for d in paired]
        for (strategy, baseline), p_value, p_holm, d, d_p, d_holm in zip(
            pairs, p_values, holm(p_values), paired, paired_p, holm(paired_p), strict=True
        ):
            a, b = means[strategy], means[baseline]
            interval_level = holm_interval_level(p_value, p_holm, level)
            difference, low, high = welch_interval(a.values, b.values, interval_level)
            paired_level = holm_interval_level(d_p, d_holm, level)
            paired_difference, paired_low, paired_high = paired_interval(d, paired_level)
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
                    "p_holm": p_holm,
                    "verdict": verdict(low, high),
                    "paired_seeds": len(d),
                    "paired_difference": paired_difference,
                    "paired_low": paired_low,
                    "paired_high": paired_high,
                    "paired_p_holm": d_holm,
                    "paired_verdict": verdict(paired_low, paired_high),
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
            + (f" · {AVERAGE_INCREMENTAL}" if cell["measure"] == AVERAGE_INCREMENTAL else "")
            + ("" if cell["recipe"] == "suite" else f" · {cell['recipe']} recipe")
        )
        for _, row in group.iterrows():
            interval = "" if math.isnan(row["ci_low"]) else f" [{row['ci_low']:+.2f}, {row['ci_high']:+.2f}]"
            lines.append(
                f"  {row['strategy']} − {row['baseline']}: {row['difference']:+.2f}{interval}  "
                f"({row['verdict']}; {row['mean']:.2f} over {row['seeds']} seeds vs "
                f"{row['baseline_mean']:.2f} over {row['baseline_seeds']})"
            )
            if not math.isnan(row["paired_low"]):
                lines.append(
                    f"    paired by seed: {row['paired_difference']:+.2f} [{row['paired_low']:+.2f}, "
                    f"{row['paired_high']:+.2f}]  ({row['paired_verdict']}; "
                    f"{row['paired_seeds']} shared seeds)"
                )
    return "\n".join(lines)
