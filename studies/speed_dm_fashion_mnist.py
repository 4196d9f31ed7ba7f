"""SPEED × DM settings study on Fashion-MNIST (issue 6): validation split only, never test.

Each trial distills one buffer at IPC 1 (distillation seed 0) and trains fresh ConvNet-128s on it
with the quick standard recipe (300 epochs, DSA, lr 0.01), reporting accuracy on the validation
split (6,000 held-out training images). Results are appended to a JSON-lines file; re-running
skips finished trials. Usage: python studies/speed_dm_fashion_mnist.py [results/studies]
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from benchmark.engine import Engine
from benchmark.options import EngineOptions
from benchmark.profiles import load_profile
from benchmark.seeding import derive_seed
from benchmark.training.job import EvaluationJob
from benchmark.training.recipe import EvalRecipe

TRIALS = [
    "random",
    "dm",
    "speed:objective=dm",
    "speed:objective=dm:iterations=0",
    "speed:objective=dm:k=24",  # images_per_class=0: the most that fit (7 per class)
    "speed:objective=dm:lr_saet=0.003:lr_scm=0.003:lr_freenet=0.003",
    "speed:objective=dm:sparsify=export",
    "speed:objective=dm:iterations=600",
    "dm:iterations=600",
]
REPEATS = 2


def main(output: Path) -> None:
    output.mkdir(parents=True, exist_ok=True)
    log = output / "speed_dm_fashion_mnist.jsonl"
    done = {json.loads(line)["spec"] for line in log.read_text().splitlines()} if log.exists() else set()
    engine = Engine(EngineOptions(output_dir=output, show_progress=False), load_profile("quick"))
    data = engine.buffers.data("fashion_mnist")
    recipe = EvalRecipe(epochs=300, lr=0.01, dsa="auto")  # the quick standard recipe
    for spec in TRIALS:
        if spec in done:
            continue
        resolved = engine.buffers.resolve(spec, "fashion_mnist", 1)
        outcome = engine.buffers.obtain(engine.buffers.plan(data, resolved, 1, seed=0))
        if outcome.status != "ok":
            entry = {"spec": spec, "status": outcome.status, "error": outcome.error}
        else:
            training = outcome.training_set()
            start = time.perf_counter()
            accuracies = [
                engine.evaluation.train(
                    EvaluationJob("ConvNet", data, training, recipe, derive_seed(outcome.key, r), data.val)
                ).accuracy
                for r in range(REPEATS)
            ]
            entry = {
                "spec": spec,
                "resolved": resolved.canonical,
                "status": "ok",
                "val_accuracy": accuracies,
                "storage": outcome.storage,
                "budget": outcome.budget.floats,
                "images": len(training.images),
                "distill_s": round(outcome.distill_wall_s, 1),
                "evaluate_s": round(time.perf_counter() - start, 1),
            }
        print(json.dumps(entry), flush=True)
        with log.open("a") as handle:
            handle.write(json.dumps(entry) + "\n")


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "results/studies"))
