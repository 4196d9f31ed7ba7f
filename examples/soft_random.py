"""A strategy plugin with soft labels: real images chosen at random, each stored with a teacher's logits.

The teacher is a ConvNet trained on the real training split of the classes given (plain SGD, no
augmentation), cached by content under ``<cache_root>/cache/soft_random_teacher/``. The stored
logits count against the budget with the images (docs/soft-labels.md), so it keeps
``floor(ipc × classes × C·H·W / (classes × (C·H·W + classes)))`` images per class, fewer than ipc
(none at IPC 1: it refuses). Run it with

    python -m benchmark --plugin examples/soft_random.py run --profile smoke --strategies soft_random --ipc 2
"""

from __future__ import annotations

import json
import math
import warnings

import torch
from safetensors.torch import load as load_safetensors
from safetensors.torch import save as save_safetensors

from benchmark.atomic import atomic_write_bytes
from benchmark.buffer import SoftLabels
from benchmark.cache import cache_lock, cache_path
from benchmark.errors import BenchmarkWarning, DoesNotFitError
from benchmark.nets import create_network
from benchmark.pixels import pixel_buffer
from benchmark.registries import STRATEGIES
from benchmark.seeding import generator, seeded
from benchmark.spec import Param
from benchmark.strategy import Strategy
from benchmark.training.evaluate import train_network
from benchmark.training.recipe import EvalRecipe

TEACHER = "soft_random_teacher"  # its cache folder
TEACHER_SEED = 0  # one teacher per data and settings, shared by every seed of the strategy
TEACHER_BATCH = 256


class SoftRandom(Strategy):
    """Random real images per class with a ConvNet teacher's logits as soft labels."""

    name = "soft_random"
    params = {
        "temperature": Param(4.0, "the temperature the logits are stored for", minimum=0.01),
        # SGD steps rather than epochs: a continual step's few hundred images would otherwise train the
        # teacher for a handful of steps and leave its labels near uniform
        "teacher_steps": Param(2000, "SGD steps (batch 256) the teacher trains on the real training split",
                               minimum=1),
        "teacher_width": Param(32, "the teacher ConvNet's width", minimum=1),
    }

    def fit(self, data, budget, seed, context):
        per_class = budget.images_per_class_with_soft_labels()
        if per_class == 0:
            raise DoesNotFitError(
                f"one image with its {budget.num_classes} logits per class needs "
                f"{budget.num_classes * (budget.floats_per_image + budget.num_classes)} float32-equivalents; "
                f"the budget is {budget.floats}",
                numbers={"images_per_class": 0, "budget": budget.floats},
            )
        rng = generator(seed)
        images = torch.cat([data.train.sample_class(c, per_class, rng) for c in data.classes])
        teacher = self.teacher(data, context)
        with torch.no_grad():
            logits = teacher(images.to(context.device)).cpu()[:, list(data.classes)]
        temperature = float(self.config["temperature"])
        soft = SoftLabels(logits.contiguous(), tuple(data.classes), "logits", temperature)
        return pixel_buffer(images, data.classes, soft)

    def teacher(self, data, context):
        """The teacher for ``data`` from the cache, trained and cached first if missing."""
        options = {"width": self.config["teacher_width"]}
        batches_per_epoch = math.ceil(len(data.train.images) / TEACHER_BATCH)
        epochs = math.ceil(self.config["teacher_steps"] / batches_per_epoch)
        recipe = EvalRecipe(epochs=epochs, lr=0.01, batch_size=TEACHER_BATCH, dsa=None)
        content = {"data": data.describe(), "network": "ConvNet", "options": options,
                   "recipe": recipe.describe(), "seed": TEACHER_SEED}  # fmt: skip
        path = cache_path(context.cache_root, TEACHER, content, "safetensors")

        def build():
            shape = (data.channels, data.image_size, data.num_classes)
            return seeded(TEACHER_SEED, lambda: create_network("ConvNet", *shape, **options))

        with cache_lock(path):  # parallel cells needing the same teacher train it once
            if path.is_file():
                net = build()
                try:
                    net.load_state_dict(load_safetensors(path.read_bytes()))
                    return net.to(context.device).eval()
                except Exception:  # noqa: BLE001 - an unreadable entry is trained again
                    warnings.warn(f"damaged cache {path} is trained again", BenchmarkWarning, stacklevel=2)
            net = train_network(
                build(), data.train.images, data.train.labels, recipe.lr, recipe, TEACHER_SEED,
                context.device, context.show_progress, desc="teacher", compile_mode="off",
            )  # fmt: skip
            state = {name: t.detach().cpu().contiguous() for name, t in net.state_dict().items()}
            payload = save_safetensors(state, metadata={"content": json.dumps(content, sort_keys=True)})
            atomic_write_bytes(path, payload)
        return net.eval()


STRATEGIES.register("soft_random", SoftRandom)
