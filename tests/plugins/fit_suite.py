"""An outside suite in one file: test accuracy beside the accuracy on the training set itself."""

import pandas as pd

from benchmark.registries import SUITES
from benchmark.suites.base import Suite, TableSpec
from benchmark.training.evaluate import test_accuracy


def fit_observations(frame: pd.DataFrame) -> pd.DataFrame:
    names = {"accuracy": "test", "accuracy/train": "train"}
    obs = frame[frame["metric"].isin(names)].copy()
    obs["column"] = obs["metric"].map(names)
    obs["order"] = obs["column"].map(lambda c: (0 if c == "test" else 1,))
    obs["axis"] = float("nan")
    return obs


class FitSuite(Suite):
    """Test accuracy and training-set accuracy of each buffer's networks."""

    name = "fit"
    table = TableSpec(observe=fit_observations, rows=("label", "ipc", "network"), figure="bars")
    defaults = {
        "smoke": {
            "datasets": ["blobs"], "strategies": ["first_k"], "ipc": [1], "seeds": [0, 1],
            "networks": ["TinyMLP"], "repeats": 1,
            "recipes": {"default": {"epochs": 5, "lr": 0.05, "dsa": None}},
        }
    }  # fmt: skip

    def extra_metrics(self, net, job):
        from benchmark.data.classdata import Split

        training = Split(job.training.images, job.training.labels)
        return {"accuracy/train": test_accuracy(net, training, self.engine.device)}


SUITES.register("fit", FitSuite)
