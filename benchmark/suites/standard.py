"""The standard suite: accuracy of each (strategy, ipc) buffer on the suite's networks, K repeats
(the shape of the SPEED paper's Table 1)."""

from __future__ import annotations

import pandas as pd

from benchmark.registries import NETWORKS
from benchmark.suites.base import Suite, TableSpec


def standard_observations(frame: pd.DataFrame) -> pd.DataFrame:
    """One column per IPC (per IPC and network when several networks were measured)."""
    obs = frame[frame["metric"] == "accuracy"].copy()
    measured = obs[obs["status"] != "reported"]
    networks = set(measured["network"].dropna())
    several = len(networks) > 1
    if not several:  # published numbers of other networks have no column here
        obs = obs[(obs["status"] != "reported") | obs["network"].isin(networks)]
    pairs = list(zip(obs["ipc"], obs["network"], strict=True))
    obs["column"] = [f"IPC {ipc:g}" + (f" · {net}" if several else "") for ipc, net in pairs]
    obs["order"] = [(float(ipc), NETWORKS.position(str(net))) for ipc, net in pairs]
    obs["axis"] = float("nan")
    return obs


# Evaluation: ConvNet-128 (the paper's network), 1000 epochs with DSA and 5 repeats (paper); quick:
# 300 epochs and 3 repeats on Fashion-MNIST; smoke: seconds-long on digits.
DEFAULT_RECIPE = {"lr": 0.01, "dsa": "auto"}


class StandardSuite(Suite):
    """ConvNet accuracy of each (strategy, ipc) buffer (SPEED paper Table 1)."""

    name = "standard"
    table = TableSpec(observe=standard_observations, rows=("label",), figure="storage")
    defaults = {
        "paper": {
            "datasets": ["cifar10"], "strategies": ["speed"], "ipc": [1, 10, 50], "seeds": [0],
            "networks": ["ConvNet"], "convnet_by_resolution": True, "repeats": 5,
            "recipes": {"default": DEFAULT_RECIPE | {"epochs": 1000}},
        },
        "quick": {
            "datasets": ["fashion_mnist"], "strategies": ["random"], "ipc": [1, 10], "seeds": [0],
            "networks": ["ConvNet"], "repeats": 3,
            "recipes": {"default": DEFAULT_RECIPE | {"epochs": 300}},
        },
        "smoke": {
            "datasets": ["digits"], "strategies": ["random"], "ipc": [1, 2], "seeds": [0],
            "networks": ["ConvNet"], "repeats": 2,
            "recipes": {
                "default": DEFAULT_RECIPE | {"epochs": 30}, "ConvNet": {"network_options": {"width": 16}},
            },
        },
    }  # fmt: skip
