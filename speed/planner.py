"""SPEED's budget planner (paper eq. 7 + decision 3), its presets, and ``plan speed``.

Dataset shapes and class counts come from the dataset registry (registered beside each loader).

    storage = D·K + 1.5·N·H·k + R(3D² + 7D) + L(D + 1) ≤ budget = ipc × classes × C·H·W

(SAETs + COO codes + FReeNet; one learned lr is exempt). The planner returns the largest
class-balanced N (a multiple of the class count) and the breakdown. The paper's ten settings
(PROTOCOL.md §6) are reproduced exactly by this maximum: each published N/c is
floor((budget − shared) / (1.5·H·k) / classes).
"""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict, dataclass
from typing import Any

from benchmark.budget import Budget
from benchmark.errors import DoesNotFitError, UserInputError
from speed.coo import MAX_INDEX
from speed.freenet import freenet_parameter_count

ARCHITECTURE_KEYS = ("dim", "tokens", "heads", "k", "depth", "patch")

IMAGENET_SUBSETS = ("imagenette", "imagewoof", "imagefruit", "imagemeow", "imagesquawk", "imageyellow")

# PROTOCOL.md §6: the authors' settings. images_per_class is the published N/c (a test checks that
# the planner's maximum reproduces it); syn_steps / max_start / batch_syn belong to TM.
PAPER: dict[tuple[str, int], dict[str, Any]] = {
    ("cifar10", 1): dict(images_per_class=17, tokens=16, k=48, dim=32, depth=1, heads=2, patch=4,
                         lam=3e-6, batch_syn=64, syn_steps=60, max_start=10),
    ("cifar10", 10): dict(images_per_class=124, tokens=64, k=48, dim=96, depth=1, heads=3, patch=4,
                          lam=3e-7, batch_syn=128, syn_steps=60, max_start=20),
    ("cifar10", 50): dict(images_per_class=272, tokens=64, k=48, dim=192, depth=3, heads=6, patch=4,
                          lam=7e-8, batch_syn=256, syn_steps=60, max_start=40),
    ("cifar100", 1): dict(images_per_class=11, tokens=64, k=48, dim=96, depth=2, heads=3, patch=4,
                          lam=3e-7, batch_syn=128, syn_steps=60, max_start=40),
    ("cifar100", 10): dict(images_per_class=62, tokens=64, k=48, dim=192, depth=3, heads=6, patch=4,
                           lam=7e-8, batch_syn=256, syn_steps=60, max_start=40),
    ("cifar100", 50): dict(images_per_class=100, tokens=64, k=166, dim=192, depth=3, heads=6, patch=4,
                           lam=3e-8, batch_syn=256, syn_steps=60, max_start=40),
    ("tinyimagenet", 1): dict(images_per_class=17, tokens=128, k=48, dim=256, depth=2, heads=8, patch=8,
                              lam=7e-8, batch_syn=340, syn_steps=20, max_start=40),
    ("tinyimagenet", 10): dict(images_per_class=78, tokens=128, k=128, dim=256, depth=2, heads=8, patch=8,
                               lam=7e-9, batch_syn=780, syn_steps=20, max_start=40),
    ("imagenet_subset", 1): dict(images_per_class=15, tokens=256, k=192, dim=192, depth=2, heads=4, patch=8,
                                 lam=7e-7, batch_syn=32, syn_steps=60, max_start=10),
    ("imagenet_subset", 10): dict(images_per_class=111, tokens=256, k=384, dim=384, depth=2, heads=6,
                                  patch=8, lam=7e-8, batch_syn=32, syn_steps=40, max_start=20),
}  # fmt: skip
# ImageNet λ: the first value for nette/fruit/meow, a different one for woof/squawk/yellow.
IMAGENET_LAM_HARD = {1: 3e-7, 10: 3e-8}
IMAGENET_HARD_SUBSETS = ("imagewoof", "imagesquawk", "imageyellow")

# Small defaults of this project (no published setting): grayscale 28 px (patch 4 divides 28) and 8 px.
QUICK: dict[tuple[str, int], dict[str, Any]] = {
    ("fashion_mnist", 1): dict(dim=24, tokens=16, heads=2, k=12, depth=1, patch=4),
    ("fashion_mnist", 10): dict(dim=64, tokens=32, heads=2, k=24, depth=1, patch=4),
    ("fashion_mnist", 50): dict(dim=96, tokens=64, heads=3, k=32, depth=2, patch=4),
    ("digits", 1): dict(dim=8, tokens=8, heads=1, k=4, depth=1, patch=2),
    ("digits", 10): dict(dim=16, tokens=16, heads=2, k=8, depth=1, patch=2),
    ("digits", 50): dict(dim=32, tokens=16, heads=2, k=12, depth=1, patch=2),
}
# SPEED × TM's own quick rows, chosen on the validation split (docs/studies/speed-tm-fashion-mnist.md
# §2): at Fashion-MNIST IPC 1 architecture H (leaner shared parts: 1.47 codes per patch, 11 % shared,
# 6 images a class) led over two distillation seeds (71.5 and 72.1 % against 68.4 and 65.5 for the
# row above, 71.2 and 71.5 for D). λ is the value it was measured with (the row above's rule value).
QUICK_TM: dict[tuple[str, int], dict[str, Any]] = {
    ("fashion_mnist", 1): dict(dim=12, tokens=12, heads=2, k=36, depth=1, patch=4, lam=5e-6),
}
FALLBACK = dict(dim=24, tokens=16, heads=2, k=12, depth=1, patch=4)


def family(dataset: str) -> str:
    """The preset table a dataset uses (the ImageNet subsets share rows; MNIST uses Fashion-MNIST's)."""
    if dataset in IMAGENET_SUBSETS:
        return "imagenet_subset"
    return "fashion_mnist" if dataset == "mnist" else dataset


def paper_preset(dataset: str, ipc: int) -> dict[str, Any] | None:
    """The PROTOCOL.md §6 row for (dataset, ipc), or None where the paper gives none."""
    row = PAPER.get((family(dataset), ipc))
    if row is None:
        return None
    row = dict(row)
    if dataset in IMAGENET_HARD_SUBSETS:
        row["lam"] = IMAGENET_LAM_HARD[ipc]
    return row


def default_architecture(dataset: str, ipc: int, objective: str = "tm") -> dict[str, int]:
    """dim/tokens/heads/k/depth/patch: the paper row, else this project's quick tables (TM's own row
    first for the TM objective), else a fallback."""
    return {key: _default_row(dataset, ipc, objective)[key] for key in ARCHITECTURE_KEYS}


def default_lam(dataset: str, ipc: int, objective: str) -> float | None:
    """λ where a row states it (the paper's rows, TM's quick rows); None: the rule of thumb decides."""
    return _default_row(dataset, ipc, objective).get("lam")


def _default_row(dataset: str, ipc: int, objective: str) -> dict[str, Any]:
    key = (family(dataset), ipc)
    tm_row = QUICK_TM.get(key) if objective == "tm" else None
    return paper_preset(dataset, ipc) or tm_row or QUICK.get(key) or FALLBACK


def lam_rule(images: int, heads: int, patches: int) -> float:
    """The paper appendix's rule of thumb λ ≈ 0.064 / (N·H·J), rounded to one significant digit."""
    value = 0.064 / (images * heads * patches)
    return float(f"{value:.0e}")


@dataclass(frozen=True)
class SpeedPlan:
    """Storage breakdown in float32-equivalents and the class-balanced number of images."""

    dim: int
    tokens: int
    heads: int
    k: int
    depth: int
    patch: int
    patches: int  # J
    patch_len: int  # L = C·p²
    classes: int
    ipc: int
    images_per_class: int
    images: int  # N
    saet: float
    codes: float
    freenet: float
    total: float
    budget: float

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def validate_architecture(
    image_shape: tuple[int, int, int], dim: int, tokens: int, heads: int, k: int, depth: int, patch: int
) -> tuple[int, int]:
    """(J, L) of a valid configuration, or a UserInputError naming the bad value and the fix."""
    channels, height, width = image_shape
    for name, value in (("dim", dim), ("tokens", tokens), ("heads", heads), ("k", k), ("depth", depth),
                        ("patch", patch)):  # fmt: skip
        if not isinstance(value, int) or value < 1:
            raise UserInputError(f"SPEED {name}={value!r} must be a positive integer")
    if height % patch or width % patch:
        sides = sorted(
            {
                d
                for d in range(1, min(height, width) + 1)
                if height % d == 0 and width % d == 0 and (height // d) * (width // d) <= MAX_INDEX
            }
        )
        raise UserInputError(
            f"SPEED patch={patch} does not divide the image side {height}×{width}; "
            f"choose one of {', '.join(map(str, sides))}"
        )
    if dim % heads:
        raise UserInputError(
            f"SPEED dim={dim} is not divisible by heads={heads}; choose dim a multiple of heads"
        )
    patches = (height // patch) * (width // patch)
    if patches > MAX_INDEX:
        raise UserInputError(
            f"SPEED patch={patch} gives J={patches} patches, above the {MAX_INDEX} that uint8 indices allow; "
            "use a larger patch"
        )
    if tokens > MAX_INDEX:
        raise UserInputError(f"SPEED tokens={tokens} is above the {MAX_INDEX} that uint8 indices allow")
    if k > patches * tokens:
        raise UserInputError(
            f"SPEED k={k} is more than the J·K = {patches}·{tokens} = {patches * tokens} entries of a "
            "coding matrix; lower k"
        )
    return patches, channels * patch * patch


def plan(
    classes: int,
    ipc: int,
    image_shape: tuple[int, int, int],
    dim: int,
    tokens: int,
    heads: int,
    k: int,
    depth: int,
    patch: int,
    images_per_class: int = 0,
) -> SpeedPlan:
    """The largest class-balanced N within budget (or check a requested ``images_per_class``)."""
    budget = Budget(ipc=ipc, num_classes=classes, image_shape=tuple(image_shape))
    patches, patch_len = validate_architecture(tuple(image_shape), dim, tokens, heads, k, depth, patch)
    saet = float(dim * tokens)
    freenet = float(freenet_parameter_count(dim, depth, patch_len))
    per_image = 1.5 * heads * k
    room = budget.floats - dim * tokens - freenet_parameter_count(dim, depth, patch_len)  # an integer
    # exact integer arithmetic: N/c = floor(2·room / (3·H·k·classes))
    most = (2 * room) // (3 * heads * k * classes) if room > 0 else 0
    numbers = dict(
        saet=saet, freenet=freenet, per_image=per_image, budget=float(budget.floats), classes=classes
    )
    if most == 0:
        raise DoesNotFitError(
            f"SPEED's shared parts (SAETs {saet:g} + FReeNet {freenet:g} float32-equivalents) leave room for "
            f"no image per class within budget {budget.floats} (each image's codes take {per_image:g}); "
            "lower dim/tokens/k or raise ipc",
            numbers=numbers,
        )
    chosen = most if images_per_class == 0 else images_per_class
    if chosen > most:
        raise DoesNotFitError(
            f"SPEED images_per_class={images_per_class} does not fit budget {budget.floats}: at most {most} "
            "fit with this dim/tokens/heads/k/depth/patch; lower images_per_class or use 0 for the largest",
            numbers=numbers | {"images_per_class_max": most},
        )
    images = chosen * classes
    codes = per_image * images
    return SpeedPlan(
        dim=dim, tokens=tokens, heads=heads, k=k, depth=depth, patch=patch, patches=patches,
        patch_len=patch_len, classes=classes, ipc=ipc, images_per_class=chosen, images=images,
        saet=saet, codes=codes, freenet=freenet, total=saet + codes + freenet, budget=float(budget.floats),
    )  # fmt: skip


def dataset_shape(dataset: str) -> tuple[tuple[int, int, int], int]:
    """(C, H, W) and the class count a dataset registered beside its loader (no data is loaded)."""
    from benchmark.registries import DATASETS

    info = DATASETS.info(dataset)
    if "shape" not in info or "classes" not in info:
        raise UserInputError(
            f"dataset {dataset!r} registered no shape and classes; register it with shape=(C, H, W) "
            "and classes=N to plan SPEED for it"
        )
    return tuple(info["shape"]), int(info["classes"])


class SpeedPlanner:
    """``python -m benchmark plan speed``: eq. 7's breakdown, the budget and N per class."""

    help = "SPEED storage plan (paper eq. 7): breakdown, budget and images per class"

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--dataset", required=True, help="a registered dataset (see `list`)")
        parser.add_argument("--ipc", type=int, required=True, help="images-per-class storage budget")
        parser.add_argument("--classes", type=int, default=None, help="classes covered (default: all)")
        parser.add_argument(
            "--objective", default="tm", choices=("tm", "dm", "dc"),
            help="whose default architecture to start from (TM has its own quick rows)",
        )  # fmt: skip
        for key, text in (
            ("dim", "feature dimension D"),
            ("tokens", "number of SAETs K"),
            ("heads", "heads H (D must be divisible by H)"),
            ("k", "non-zeros per (image, head)"),
            ("depth", "recurrent blocks R"),
            ("patch", "patch side p (must divide the image side)"),
        ):
            parser.add_argument(f"--{key}", type=int, default=None, help=f"{text} (default: the preset)")
        parser.add_argument("--json", action="store_true", help="print JSON instead of a table")

    def run(self, args: argparse.Namespace) -> int:
        from benchmark.options import check_range

        image_shape, classes = dataset_shape(args.dataset)
        check_range("--ipc", args.ipc, 1, 10**6)
        if args.classes is not None:
            check_range("--classes", args.classes, 1, classes)
        classes = args.classes or classes
        arch = default_architecture(args.dataset, args.ipc, getattr(args, "objective", "tm"))
        arch |= {key: getattr(args, key) for key in ARCHITECTURE_KEYS if getattr(args, key, None) is not None}
        result = plan(classes, args.ipc, image_shape, **arch)
        if getattr(args, "json", False):
            print(json.dumps({"dataset": args.dataset, "image_shape": list(image_shape)} | result.to_dict()))
            return 0
        print(format_plan(args.dataset, image_shape, result))
        return 0


def format_plan(dataset: str, image_shape: tuple[int, int, int], p: SpeedPlan) -> str:
    shape = "×".join(map(str, image_shape))
    rows = [
        f"SPEED plan for {dataset} ({shape}, {p.classes} classes), ipc {p.ipc}",
        f"  D={p.dim} K={p.tokens} H={p.heads} k={p.k} R={p.depth} patch={p.patch}"
        f" (J={p.patches}, L={p.patch_len})",
        f"  {'SAETs D·K':<28}{p.saet:>14,.1f}",
        f"  {'codes 1.5·N·H·k':<28}{p.codes:>14,.1f}",
        f"  {'FReeNet R(3D²+7D)+L(D+1)':<28}{p.freenet:>14,.1f}",
        f"  {'total':<28}{p.total:>14,.1f}",
        f"  {'budget':<28}{p.budget:>14,.1f}",
        f"  images: N = {p.images} ({p.images_per_class} per class)",
    ]
    return "\n".join(rows)


PLANNER = SpeedPlanner()
