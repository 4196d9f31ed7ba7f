"""Expert trajectories for trajectory matching (docs/protocol.md §4), cached and resumable.

An expert is a network trained on the real training split of ``data.classes`` (labels keep their
global ids; the output layer keeps all ``data.num_classes`` outputs) with plain SGD (lr 0.01, no
momentum, no weight decay, batch 256) and per-sample DSA; with ``standardize`` each batch is first
standardised by its own mean and std, as the SPEED and HaBa codes train theirs. Its parameters,
flattened in ``named_parameters`` order into one float32 vector, are kept after initialisation and
after every epoch: the file holds ``trajectory`` of shape (epochs + 1, P).

Cache layout: ``<root>/cache/experts/<key>.experts/expert_0000.safetensors`` … The key hashes
everything that changes an expert's content (decision 13): dataset, preprocessing, split (and a
fingerprint of its tensors), classes, network, width, depth, epochs, subset, lr, batch size, DSA
strategy, standardisation (named only when on, so the keys of earlier experts stay valid) and seed.
The number of experts is not part of the key: expert ``i`` is seeded by (seed, i) alone, so asking
for more experts later trains only the new ones, and a build interrupted half-way keeps every
finished file (each is written atomically).
"""

from __future__ import annotations

import argparse
import json
import warnings
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch
import torch.nn as nn
import torch.nn.functional as F
from safetensors import safe_open
from safetensors.torch import save as save_safetensors

from benchmark.atomic import atomic_write_bytes
from benchmark.augment.dsa import DSA
from benchmark.cache import cache_lock, cache_path
from benchmark.data.classdata import ClassData
from benchmark.errors import BenchmarkWarning, CorruptFileError
from benchmark.nets import create_network
from benchmark.progress import progress
from benchmark.seeding import derive_seed, seeded
from benchmark.seeding import generator as make_generator
from benchmark.training.evaluate import standardized

KIND = "experts"


@dataclass(frozen=True)
class ExpertRecipe:
    """How each expert is trained; every field is part of the cache key."""

    network: str = "ConvNet"
    width: int = 128  # 0: the network's own default
    depth: int = 0  # 0: the network's own default
    epochs: int = 50
    subset: int = 0  # training images per class (seeded); 0 = the whole training split
    lr: float = 0.01
    batch_size: int = 256
    dsa: str = "auto"  # "auto": the dataset's DSA families; "none": no augmentation
    standardize: bool = False  # each batch by its own mean and std, before its DSA draw


def network_options(recipe: ExpertRecipe) -> dict[str, int]:
    options = {}
    if recipe.width > 0:
        options["width"] = recipe.width
    if recipe.depth > 0:
        options["depth"] = recipe.depth
    return options


def build_network(data: ClassData, recipe: ExpertRecipe) -> nn.Module:
    """The network an expert (and a TM student) uses; initialised from the global RNG."""
    return create_network(
        recipe.network, data.channels, data.image_size, data.num_classes, **network_options(recipe)
    )


def dsa_families(data: ClassData, recipe: ExpertRecipe) -> str | None:
    if recipe.dsa == "none":
        return None
    return data.augmentation if recipe.dsa == "auto" else recipe.dsa


def cache_content(data: ClassData, recipe: ExpertRecipe, seed: int) -> dict[str, Any]:
    """Everything that changes an expert's content (decision 13)."""
    recipe_fields = asdict(recipe)
    if not recipe.standardize:
        del recipe_fields["standardize"]
    return {
        **data.training_identity(),
        **recipe_fields,
        "dsa": dsa_families(data, recipe),
        "optimizer": {"name": "sgd", "momentum": 0.0, "weight_decay": 0.0},
        "seed": int(seed),
    }


def expert_folder(root: str | Path, data: ClassData, recipe: ExpertRecipe, seed: int) -> Path:
    return cache_path(root, KIND, cache_content(data, recipe, seed), KIND)


def expert_file(folder: Path, index: int) -> Path:
    return folder / f"expert_{index:04d}.safetensors"


def training_indices(data: ClassData, subset: int, seed: int) -> torch.Tensor:
    """Indices into ``data.train``: every image of ``data.classes``, or ``subset`` per class (seeded)."""
    rng = make_generator(derive_seed(KIND, "subset", seed))
    chosen = []
    for c in data.classes:
        indices = data.train.class_indices(c).cpu()
        if 0 < subset < len(indices):
            indices = indices[torch.randperm(len(indices), generator=rng)[:subset]].sort().values
        chosen.append(indices)
    return torch.cat(chosen)


def flat_parameters(net: nn.Module) -> torch.Tensor:
    return torch.cat([p.detach().reshape(-1) for p in net.parameters()]).float().cpu()


def parameter_layout(net: nn.Module) -> list[tuple[str, list[int]]]:
    return [(name, list(p.shape)) for name, p in net.named_parameters()]


def train_expert(
    data: ClassData,
    recipe: ExpertRecipe,
    seed: int,
    index: int,
    device: torch.device | str = "cpu",
    bar=None,
) -> tuple[torch.Tensor, list[tuple[str, list[int]]]]:
    """Train expert ``index``; returns its trajectory (epochs + 1, P) and the parameter layout."""
    net = seeded(derive_seed(KIND, "init", seed, index), lambda: build_network(data, recipe)).to(device)
    net.train()
    rng = make_generator(derive_seed(KIND, "order", seed, index))
    families = dsa_families(data, recipe)
    dsa = DSA(families) if families else None
    indices = training_indices(data, recipe.subset, seed)
    images = data.train.images[indices.to(data.train.images.device)]
    labels = data.train.labels[indices.to(data.train.labels.device)]
    optimizer = torch.optim.SGD(net.parameters(), lr=recipe.lr, momentum=0.0, weight_decay=0.0)
    snapshots = [flat_parameters(net)]
    for _ in range(recipe.epochs):
        order = torch.randperm(len(labels), generator=rng)
        for start in range(0, len(labels), recipe.batch_size):
            batch = order[start : start + recipe.batch_size]
            x = images[batch.to(images.device)].to(device)
            y = labels[batch.to(labels.device)].to(device)
            if recipe.standardize:
                x = standardized(x)
            if dsa is not None:
                x = dsa(x, rng)
            loss = F.cross_entropy(net(x), y)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
        snapshots.append(flat_parameters(net))
        if bar is not None:
            bar.update(1)
    return torch.stack(snapshots), parameter_layout(net)


def build_experts(
    data: ClassData,
    recipe: ExpertRecipe,
    seed: int,
    count: int,
    root: str | Path,
    device: torch.device | str = "cpu",
    show_progress: bool = True,
) -> list[Path]:
    """The files of experts 0 … count − 1, training (and caching) only those missing."""
    content = cache_content(data, recipe, seed)
    folder = cache_path(root, KIND, content, KIND)
    with cache_lock(folder):  # a parallel cell needing the same experts waits for them
        missing = [i for i in range(count) if not _readable(expert_file(folder, i))]
        if missing:
            bar = progress(
                total=len(missing) * recipe.epochs, desc=f"experts ({len(missing)})", enabled=show_progress
            )
            for i in missing:
                trajectory, layout = train_expert(data, recipe, seed, i, device, bar)
                metadata = {
                    "content": json.dumps(content, sort_keys=True),
                    "index": str(i),
                    "layout": json.dumps(layout),
                }
                payload = save_safetensors({"trajectory": trajectory.contiguous()}, metadata=metadata)
                atomic_write_bytes(expert_file(folder, i), payload)
            bar.close()
    return [expert_file(folder, i) for i in range(count)]


def _readable(path: Path) -> bool:
    if not path.is_file():
        return False
    try:
        with safe_open(str(path), framework="pt") as handle:
            return "trajectory" in handle.keys()
    except Exception:  # a damaged file is trained again
        warnings.warn(f"damaged cache {path} is trained again", BenchmarkWarning, stacklevel=2)
        return False


def load_snapshots(path: Path, epochs: list[int]) -> list[torch.Tensor]:
    """Rows ``epochs`` of an expert's trajectory (read lazily, without loading the whole file)."""
    try:
        with safe_open(str(path), framework="pt") as handle:
            rows = handle.get_slice("trajectory")
            count = rows.get_shape()[0]
            if max(epochs) >= count:
                raise CorruptFileError(
                    f"expert file {path} holds {count} snapshots but epoch {max(epochs)} was asked for; "
                    "delete it to rebuild"
                )
            return [rows[e : e + 1][0].clone() for e in epochs]
    except CorruptFileError:
        raise
    except Exception as error:
        raise CorruptFileError(
            f"expert file {path} cannot be read ({error}); delete it to rebuild"
        ) from error


def load_layout(path: Path) -> list[tuple[str, list[int]]]:
    with safe_open(str(path), framework="pt") as handle:
        return [(name, list(shape)) for name, shape in json.loads(handle.metadata()["layout"])]


class ExpertsCommand:
    """``python -m benchmark experts``: build (or complete) a cached set of expert trajectories."""

    help = "train and cache expert trajectories for trajectory matching (resumable)"

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--dataset", required=True)
        parser.add_argument("--network", default="ConvNet")
        parser.add_argument("--experts", type=int, default=100, help="number of experts")
        parser.add_argument("--epochs", type=int, default=50, help="training epochs per expert")
        parser.add_argument("--subset", type=int, default=0, help="images per class (seeded); 0 = all")
        parser.add_argument("--width", type=int, default=128, help="network width; 0 = its default")
        parser.add_argument("--depth", type=int, default=0, help="network depth; 0 = its default")
        parser.add_argument("--lr", type=float, default=0.01)
        parser.add_argument("--dsa", default="auto", help="DSA families, 'auto' (the dataset's) or 'none'")
        parser.add_argument(
            "--standardize", action="store_true", help="standardise each batch (SPEED's and HaBa's experts)"
        )
        parser.add_argument("--seed", type=int, default=0)
        parser.add_argument("--preprocessing", default="meanstd", choices=("meanstd", "zca"))
        parser.add_argument("--data-root", type=Path, default=None)
        parser.add_argument("--output-dir", type=Path, default=Path("results"))
        parser.add_argument("--device", default="auto")
        parser.add_argument("--no-progress", action="store_true")

    def run(self, args: argparse.Namespace) -> int:
        from benchmark.augment.dsa import check_setting
        from benchmark.data import DatasetOptions, load_dataset
        from benchmark.device import resolve_device
        from benchmark.errors import UserInputError
        from benchmark.options import SEED_MAX, check_range
        from benchmark.registries import NETWORKS
        from benchmark.results.store import prepare_output_dir

        bounds = [("--experts", args.experts, 1, None), ("--epochs", args.epochs, 1, None),
                  ("--subset", args.subset, 0, None), ("--width", args.width, 0, 4096),
                  ("--depth", args.depth, 0, 12), ("--lr", args.lr, 1e-12, None),
                  ("--seed", args.seed, 0, SEED_MAX)]  # fmt: skip
        for flag, value, low, high in bounds:
            check_range(flag, value, low, high)
        NETWORKS.get(args.network)
        try:
            check_setting(args.dsa)
        except UserInputError as error:
            raise UserInputError(f"--dsa {args.dsa}: {error}") from None
        prepare_output_dir(args.output_dir)
        options = DatasetOptions(
            data_root=args.data_root, preprocessing=args.preprocessing, cache_dir=args.output_dir
        )
        data = load_dataset(args.dataset, options)
        from benchmark.nets import check_network

        check_network(args.network, data.channels, data.image_size, data.num_classes,
                      **network_options(ExpertRecipe(width=args.width, depth=args.depth)))  # fmt: skip
        recipe = ExpertRecipe(
            network=args.network,
            width=args.width,
            depth=args.depth,
            epochs=args.epochs,
            subset=args.subset,
            lr=args.lr,
            dsa=args.dsa,
            standardize=args.standardize,
        )
        files = build_experts(
            data,
            recipe,
            args.seed,
            args.experts,
            args.output_dir,
            resolve_device(args.device),
            show_progress=not args.no_progress,
        )
        print(f"{len(files)} experts in {files[0].parent}")
        return 0


EXPERTS_COMMAND = ExpertsCommand()
