"""Quick-profile presets chosen by an equal search on the validation split.

Where the fair search of docs/studies/fair-search.md (twelve trials per method over its own
published knobs, the best three distilled again on a second seed, the rule fixed before any run)
chose other knobs than a method's quick preset, the chosen ones apply to that (dataset, IPC) only;
every other cell keeps its preset. tests/test_searched_presets.py re-derives each entry from the
recorded trials in studies/fair-search-data.
"""

from __future__ import annotations

from typing import Any

SEARCHED_QUICK: dict[str, dict[tuple[str, int], dict[str, Any]]] = {
    "tm": {("fashion_mnist", 1): {"syn_steps": 40}},  # trial tm-08
    "dm": {("fashion_mnist", 1): {"iterations": 2000}},  # trial dm-08
    "dsa": {("fashion_mnist", 1): {"iterations": 1000}},  # trial dsa-05
}


def searched_quick(method: str, dataset: str, ipc: int) -> dict[str, Any]:
    """The knobs the search chose for ``method`` at (``dataset``, ``ipc``), empty where none."""
    return dict(SEARCHED_QUICK.get(method, {}).get((dataset, ipc), {}))
