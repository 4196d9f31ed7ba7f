"""GDumb in avalanche with a memory distilled by any registered strategy (here DM), on the
scikit-learn digits (bundled, no download): 5 experiences of 2 classes.

    python examples/avalanche_gdumb.py            # about a minute on 2 CPU cores
"""

from __future__ import annotations

import warnings

import torch
from torch import nn

from benchmark.data import load_dataset


class Items(torch.utils.data.Dataset):
    """(image, label) items with ``targets``, as avalanche's benchmark builders need."""

    def __init__(self, images: torch.Tensor, labels: torch.Tensor):
        self.images, self.targets = images, labels.tolist()

    def __len__(self) -> int:
        return len(self.targets)

    def __getitem__(self, i: int):
        return self.images[i], self.targets[i]


def main(strategy: str = "dm:iterations=20", ipc: int = 5, epochs: int = 30) -> list[float]:
    """Train through the stream; returns the test accuracy on the classes seen after each experience."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # avalanche warns about optional solvers it does not need
        from avalanche.benchmarks.scenarios.supervised import class_incremental_benchmark
        from avalanche.evaluation.metrics import accuracy_metrics
        from avalanche.logging import InteractiveLogger
        from avalanche.training.plugins import EvaluationPlugin

        from benchmark.integrations.avalanche import DistilledGDumb

    data = load_dataset("digits")
    scenario = class_incremental_benchmark(
        {
            "train": Items(data.train.images, data.train.labels),
            "test": Items(data.test.images, data.test.labels),
        },
        num_experiences=5,
        seed=0,
    )
    torch.manual_seed(0)
    model = nn.Sequential(nn.Flatten(), nn.Linear(64, 128), nn.ReLU(), nn.Linear(128, 10))
    gdumb = DistilledGDumb(  # keywords only, as avalanche's strategy classes take them
        model=model,
        optimizer=torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9),
        criterion=nn.CrossEntropyLoss(),
        strategy=strategy,
        ipc=ipc,
        memory={"dataset": "digits", "mean": data.mean, "std": data.std, "dsa": data.augmentation},
        train_mb_size=32,
        train_epochs=epochs,
        eval_mb_size=256,
        device="cpu",
        evaluator=EvaluationPlugin(accuracy_metrics(stream=True), loggers=[InteractiveLogger()]),
    )
    accuracies = []
    for t, experience in enumerate(scenario.train_stream):
        gdumb.train(experience)
        results = gdumb.eval(scenario.test_stream[: t + 1])
        accuracies.append(next(v for k, v in results.items() if k.startswith("Top1_Acc_Stream")))
        print(f"experience {t + 1}: {len(gdumb.memory_plugin.memory_images)} memory images, "
              f"accuracy on the classes seen {100 * accuracies[-1]:.1f} %")  # fmt: skip
    return accuracies


if __name__ == "__main__":
    main()
