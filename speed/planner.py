"""SPEED's budget planner (paper eq. 7 + decision 3), its presets, and ``plan speed``.

Dataset shapes, class counts and training images per class come from the dataset registry
(registered beside each loader).

    storage = D·K + 1.5·N·H·k + R(3D² + 7D) + L(D + 1) ≤ budget = ipc × classes × C·H·W

(SAETs + COO codes + FReeNet; one learned lr is exempt). ``plan`` returns the largest
class-balanced N (a multiple of the class count) and the breakdown. The paper's ten settings
(docs/protocol.md §6) are reproduced exactly by this maximum: each published N/c is
floor((budget − shared) / (1.5·H·k) / classes).

The architecture is chosen for the fit, i.e. the classes and budget of the buffer being made (a
continual step's classes, not the dataset's): a table row where one exists for a fit of the whole
dataset, else the rule of :func:`choose_architecture` (docs/speed.md, "Plans sized for the fit").
"""

from __future__ import annotations

import argparse
import json
import math
from dataclasses import asdict, dataclass
from typing import Any

from benchmark.budget import Budget
from benchmark.errors import DoesNotFitError, UserInputError
from benchmark.strategy import registered_classes
from speed.coo import MAX_INDEX
from speed.freenet import freenet_parameter_count

ARCHITECTURE_KEYS = ("dim", "tokens", "heads", "k", "depth", "patch")

IMAGENET_SUBSETS = ("imagenette", "imagewoof", "imagefruit", "imagemeow", "imagesquawk", "imageyellow")

# docs/protocol.md §6: the authors' settings, as the published code states them (github.com/MIV-XJTU/
# SPEED, networks.py: each FReeNet factory at the end of the file is named by D, R ("d…b") and H,
# with N/c, K, k, λ, batch_syn, syn_steps and max_start in the comment above it). images_per_class is
# the published N/c (a test checks that the planner's maximum reproduces it); syn_steps / max_start /
# batch_syn belong to TM. Iterations (20 000) and expert epochs (2) are distill.py's defaults.
PAPER: dict[tuple[str, int], dict[str, Any]] = {
    # networks.py: CIFAR10_IPC1_freenet_patch4_dec32d1b2h
    ("cifar10", 1): dict(images_per_class=17, tokens=16, k=48, dim=32, depth=1, heads=2, patch=4,
                         lam=3e-6, batch_syn=64, syn_steps=60, max_start=10),
    # networks.py: CIFAR10_IPC10_freenet_patch4_dec96d1b3h
    ("cifar10", 10): dict(images_per_class=124, tokens=64, k=48, dim=96, depth=1, heads=3, patch=4,
                          lam=3e-7, batch_syn=128, syn_steps=60, max_start=20),
    # networks.py: CIFAR10_IPC50_freenet_patch4_dec192d3b6h
    ("cifar10", 50): dict(images_per_class=272, tokens=64, k=48, dim=192, depth=3, heads=6, patch=4,
                          lam=7e-8, batch_syn=256, syn_steps=60, max_start=40),
    # networks.py: CIFAR100_IPC1_freenet_patch4_dec96d2b3h
    ("cifar100", 1): dict(images_per_class=11, tokens=64, k=48, dim=96, depth=2, heads=3, patch=4,
                          lam=3e-7, batch_syn=128, syn_steps=60, max_start=40),
    # networks.py: CIFAR100_IPC10_freenet_patch4_dec192d3b6h
    ("cifar100", 10): dict(images_per_class=62, tokens=64, k=48, dim=192, depth=3, heads=6, patch=4,
                           lam=7e-8, batch_syn=256, syn_steps=60, max_start=40),
    # networks.py: CIFAR100_IPC50_freenet_patch4_dec192d3b6h
    ("cifar100", 50): dict(images_per_class=100, tokens=64, k=166, dim=192, depth=3, heads=6, patch=4,
                           lam=3e-8, batch_syn=256, syn_steps=60, max_start=40),
    # networks.py: Tiny_IPC1_freenet_patch8_dec256d2b8h
    ("tinyimagenet", 1): dict(images_per_class=17, tokens=128, k=48, dim=256, depth=2, heads=8, patch=8,
                              lam=7e-8, batch_syn=340, syn_steps=20, max_start=40),
    # networks.py: Tiny_IPC10_freenet_patch8_dec256d2b8h
    ("tinyimagenet", 10): dict(images_per_class=78, tokens=128, k=128, dim=256, depth=2, heads=8, patch=8,
                               lam=7e-9, batch_syn=780, syn_steps=20, max_start=40),
    # networks.py: ImageNet_IPC1_freenet_patch8_dec192d2b4h
    ("imagenet_subset", 1): dict(images_per_class=15, tokens=256, k=192, dim=192, depth=2, heads=4, patch=8,
                                 lam=7e-7, batch_syn=32, syn_steps=60, max_start=10),
    # networks.py: ImageNet_IPC10_freenet_patch8_dec384d2b6h
    ("imagenet_subset", 10): dict(images_per_class=111, tokens=256, k=384, dim=384, depth=2, heads=6,
                                  patch=8, lam=7e-8, batch_syn=32, syn_steps=40, max_start=20),
}  # fmt: skip
# ImageNet λ: the first value for nette/fruit/meow, a different one for woof/squawk/yellow (networks.py,
# the comments above the two ImageNet factories).
IMAGENET_LAM_HARD = {1: 3e-7, 10: 3e-8}
IMAGENET_HARD_SUBSETS = ("imagewoof", "imagesquawk", "imageyellow")

# Small defaults of this project for fits of the whole dataset (no published setting): grayscale
# 28 px (patch 4 divides 28) and 8 px.
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
# Where a dataset registered no shape the planner cannot size SPEED; the fit checks this against the data.
UNPLANNED = dict(dim=24, tokens=16, heads=2, k=12, depth=1, patch=4)

# The rule for a fit without a table row (docs/speed.md): the published regime keeps at least 1.5
# non-zero codes per patch (H·k/J, at most 16) and shared parts near a fifth of the budget at its
# smallest budgets (17 to 23 % at CIFAR10 IPC 1 and 50, CIFAR100 IPC 1, TinyImageNet IPC 1).
MIN_CODES_PER_PATCH = 1.5
MAX_CODES_PER_PATCH = 16
SHARED_SHARE = 0.25
# Candidate sizes (D, K, H, R, codes per patch), small to large: a ladder for budgets below the
# published ones, then the published CIFAR architectures with their codes per patch (k = 48 at J = 64).
GRID = (
    (4, 4, 1, 1, 1.5), (8, 8, 2, 1, 1.5), (12, 12, 2, 1, 1.5), (16, 16, 2, 1, 1.5), (24, 16, 2, 1, 1.5),
    (32, 16, 2, 1, 1.5), (48, 32, 2, 1, 1.5), (64, 32, 2, 1, 1.5),
    (96, 64, 3, 1, 2.25), (96, 64, 3, 2, 2.25), (192, 64, 6, 3, 4.5),
)  # fmt: skip
# The published architectures of the larger images join their side's grid (TinyImageNet k = 48 at
# J = 64; ImageNet subsets k = 192 and 384 at J = 256).
GRID_BY_SIDE = {64: GRID + ((256, 128, 8, 2, 6),), 128: GRID + ((192, 256, 4, 2, 3), (384, 256, 6, 2, 9))}
# Patch side per image side: the published ones (J = 64 at 32 and 64 px, 256 at 128 px) and this
# project's quick rows' (28 and 8 px); another side takes the patch whose J is nearest 64.
PATCH_BY_SIDE = {8: 2, 28: 4, 32: 4, 64: 8, 128: 8}
TARGET_PATCHES = 64


def family(dataset: str) -> str:
    """The preset table a dataset uses (the ImageNet subsets share rows; MNIST uses Fashion-MNIST's)."""
    if dataset in IMAGENET_SUBSETS:
        return "imagenet_subset"
    return "fashion_mnist" if dataset == "mnist" else dataset


def paper_preset(dataset: str, ipc: int) -> dict[str, Any] | None:
    """The docs/protocol.md §6 row for (dataset, ipc), or None where the paper gives none."""
    row = PAPER.get((family(dataset), ipc))
    if row is None:
        return None
    row = dict(row)
    if dataset in IMAGENET_HARD_SUBSETS:
        row["lam"] = IMAGENET_LAM_HARD[ipc]
    return row


def whole_dataset(dataset: str, classes: int | None) -> bool:
    return classes is None or classes == registered_classes(dataset)


def table_row(dataset: str, ipc: int, objective: str = "tm", classes: int | None = None) -> dict | None:
    """The table row of a fit of the whole dataset: the paper's, else TM's quick row (for TM), else the
    shared quick row; None for a fit of fewer classes or where no row exists."""
    if not whole_dataset(dataset, classes):
        return None
    key = (family(dataset), ipc)
    tm_row = QUICK_TM.get(key) if objective == "tm" else None
    return paper_preset(dataset, ipc) or tm_row or QUICK.get(key)


def default_architecture(
    dataset: str, ipc: int, objective: str = "tm", classes: int | None = None
) -> dict[str, int]:
    """dim/tokens/heads/k/depth/patch for a fit of ``classes`` (None: all) at ``ipc``: the table row,
    else the rule's choice (:func:`choose_architecture`)."""
    row = table_row(dataset, ipc, objective, classes)
    if row is not None:
        return {key: row[key] for key in ARCHITECTURE_KEYS}
    info = dataset_info(dataset)
    if info is None:
        return dict(UNPLANNED)
    shape, all_classes, per_class = info
    return choose_architecture(shape, classes or all_classes, ipc, per_class)


def default_lam(dataset: str, ipc: int, objective: str, classes: int | None = None) -> float | None:
    """λ where a row states it (the paper's rows, TM's quick rows); None: the rule of thumb decides."""
    row = table_row(dataset, ipc, objective, classes)
    return None if row is None else row.get("lam")


def lam_rule(images: int, heads: int, patches: int) -> float:
    """The paper appendix's rule of thumb λ ≈ 0.064 / (N·H·J), rounded to one significant digit."""
    value = 0.064 / (images * heads * patches)
    return float(f"{value:.0e}")


def patch_for(height: int, width: int) -> int:
    """The patch side of the rule's candidates for an image side (see PATCH_BY_SIDE)."""
    if height == width and height in PATCH_BY_SIDE:
        return PATCH_BY_SIDE[height]
    sides = [p for p in range(1, min(height, width) + 1) if height % p == 0 and width % p == 0]
    fitting = [p for p in sides if (height // p) * (width // p) <= MAX_INDEX]
    return min(fitting, key=lambda p: (abs((height // p) * (width // p) - TARGET_PATCHES), -p))


def choose_architecture(
    image_shape: tuple[int, int, int], classes: int, ipc: int, train_per_class: int | None = None
) -> dict[str, int]:
    """The rule for a fit without a table row (docs/speed.md, "Plans sized for the fit").

    Candidates: the image side's grid, each at its codes per patch (k = ⌈codes·J/H⌉, at least 1.5).
    Among those that fit one image per class, the one with the most shared floats (SAETs + FReeNet)
    within SHARED_SHARE of the budget, else the one with the fewest. Where its largest N/c would exceed
    the class's training images, k grows (up to 16 codes per patch) until it does not; the planner
    caps what remains. DoesNotFitError (one line, with the numbers) when no candidate fits.
    """
    budget = Budget(ipc=ipc, num_classes=classes, image_shape=tuple(image_shape)).floats
    sized = [(_shared(image_shape, arch), arch) for arch in candidates(image_shape)]
    fitting = [item for item in sized if _most_per_class(budget, *item, classes) >= 1]
    if not fitting:
        shared, arch = min(sized, key=lambda item: item[0])
        need = shared + math.ceil(1.5 * arch["heads"] * arch["k"] * classes)
        described = ", ".join(f"{key} {arch[key]}" for key in ARCHITECTURE_KEYS)
        raise DoesNotFitError(
            f"SPEED: no architecture fits budget {budget} ({classes} classes × ipc {ipc} × "
            f"{'×'.join(map(str, image_shape))}) at ≥ {MIN_CODES_PER_PATCH} non-zero codes per patch; "
            f"the smallest ({described}) needs {need} for one image per class; raise ipc",
            numbers=dict(budget=float(budget), classes=classes, smallest_needs=float(need)),
        )
    within = [item for item in fitting if item[0] <= SHARED_SHARE * budget]
    shared, arch = max(within, key=lambda item: item[0]) if within else min(fitting, key=lambda item: item[0])
    if train_per_class is not None and _most_per_class(budget, shared, arch, classes) > train_per_class:
        patches = _patches(image_shape, arch["patch"])
        fewer = 2 * (budget - shared) // (3 * arch["heads"] * classes * (train_per_class + 1)) + 1
        largest = min(MAX_CODES_PER_PATCH * patches // arch["heads"], patches * arch["tokens"])
        arch["k"] = min(max(arch["k"], fewer), largest)
    return arch


def candidates(image_shape: tuple[int, int, int]) -> list[dict[str, int]]:
    """The rule's candidate architectures for an image shape, in grid order (k = ⌈codes·J/H⌉)."""
    _, height, width = image_shape
    patch = patch_for(height, width)
    patches = _patches(image_shape, patch)
    grid = GRID_BY_SIDE.get(height, GRID) if height == width else GRID
    found = []
    for dim, tokens, heads, depth, codes in grid:
        k = math.ceil(codes * patches / heads)
        if k <= patches * tokens:
            found.append(dict(dim=dim, tokens=tokens, heads=heads, k=k, depth=depth, patch=patch))
    return found


def _patches(image_shape: tuple[int, int, int], patch: int) -> int:
    return (image_shape[1] // patch) * (image_shape[2] // patch)


def _shared(image_shape: tuple[int, int, int], arch: dict[str, int]) -> int:
    """SAETs + FReeNet floats of an architecture: D·K + R(3D² + 7D) + L(D + 1)."""
    patch_len = image_shape[0] * arch["patch"] ** 2
    return arch["dim"] * arch["tokens"] + freenet_parameter_count(arch["dim"], arch["depth"], patch_len)


def _most_per_class(budget: int, shared: int, arch: dict[str, int], classes: int) -> int:
    """eq. 7's largest N/c, in exact integer arithmetic: ⌊2·(budget − shared) / (3·H·k·c)⌋."""
    room = budget - shared
    return (2 * room) // (3 * arch["heads"] * arch["k"] * classes) if room > 0 else 0


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
    fits_per_class: int  # eq. 7's largest N/c; images_per_class is below it where capped or requested

    @property
    def codes_per_patch(self) -> float:
        """Non-zero codes per patch of an image, H·k/J (the published rows keep 1.5 to 16)."""
        return self.heads * self.k / self.patches

    @property
    def shared_share(self) -> float:
        """The share of the budget taken by the parts all images share (SAETs and FReeNet)."""
        return (self.saet + self.freenet) / self.budget

    def to_dict(self) -> dict[str, Any]:
        return asdict(self) | {"codes_per_patch": self.codes_per_patch, "shared_share": self.shared_share}


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
    cap: int | None = None,
) -> SpeedPlan:
    """The largest class-balanced N within budget, at most ``cap`` per class (the class's training
    images; the rest of the budget stays unused), or check a requested ``images_per_class``."""
    budget = Budget(ipc=ipc, num_classes=classes, image_shape=tuple(image_shape))
    patches, patch_len = validate_architecture(tuple(image_shape), dim, tokens, heads, k, depth, patch)
    saet = float(dim * tokens)
    freenet = float(freenet_parameter_count(dim, depth, patch_len))
    per_image = 1.5 * heads * k
    most = _most_per_class(budget.floats, dim * tokens + int(freenet), dict(heads=heads, k=k), classes)
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
    if images_per_class > most:
        raise DoesNotFitError(
            f"SPEED images_per_class={images_per_class} does not fit budget {budget.floats}: at most {most} "
            "fit with this dim/tokens/heads/k/depth/patch; lower images_per_class or use 0 for the largest",
            numbers=numbers | {"images_per_class_max": most},
        )
    chosen = images_per_class or (min(most, cap) if cap else most)
    images = chosen * classes
    codes = per_image * images
    return SpeedPlan(
        dim=dim, tokens=tokens, heads=heads, k=k, depth=depth, patch=patch, patches=patches,
        patch_len=patch_len, classes=classes, ipc=ipc, images_per_class=chosen, images=images,
        saet=saet, codes=codes, freenet=freenet, total=saet + codes + freenet, budget=float(budget.floats),
        fits_per_class=most,
    )  # fmt: skip


def dataset_info(dataset: str) -> tuple[tuple[int, int, int], int, int | None] | None:
    """(C, H, W), the class count and the training images per class (None where not registered) a
    dataset registered beside its loader (no data is loaded); None without shape and classes."""
    from benchmark.registries import DATASETS

    if dataset not in DATASETS:
        return None
    info = DATASETS.info(dataset)
    if "shape" not in info or "classes" not in info:
        return None
    return tuple(info["shape"]), int(info["classes"]), info.get("train_per_class")


def dataset_shape(dataset: str) -> tuple[tuple[int, int, int], int]:
    """(C, H, W) and the class count a dataset registered beside its loader (no data is loaded)."""
    from benchmark.registries import DATASETS

    DATASETS.get(dataset)  # an unknown name: one line listing the registered ones
    info = dataset_info(dataset)
    if info is None:
        raise UserInputError(
            f"dataset {dataset!r} registered no shape and classes; register it with shape=(C, H, W) "
            "and classes=N to plan SPEED for it"
        )
    return info[0], info[1]


def plan_for_fit(
    dataset: str, ipc: int, classes: int | None = None, objective: str = "tm", **given: int
) -> SpeedPlan:
    """The plan of a fit of ``classes`` (None: all) of a registered dataset at ``ipc``: the default
    architecture for the fit with ``given`` values (architecture keys, images_per_class) on top, at
    most the class's training images per class."""
    image_shape, all_classes = dataset_shape(dataset)
    info = dataset_info(dataset)
    arch = default_architecture(dataset, ipc, objective, classes) | given
    return plan(classes or all_classes, ipc, image_shape, **arch, cap=info[2])


class SpeedPlanner:
    """``python -m benchmark plan speed``: eq. 7's breakdown, the budget and N per class."""

    help = "SPEED storage plan (paper eq. 7): breakdown, budget and images per class"

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--dataset", required=True, help="a registered dataset (see `list`)")
        parser.add_argument("--ipc", type=int, required=True, help="images-per-class storage budget")
        parser.add_argument(
            "--classes", type=int, default=None,
            help="classes of the fit, e.g. a continual step's (default: all): the plan that fit uses",
        )  # fmt: skip
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
        given = {key: getattr(args, key) for key in ARCHITECTURE_KEYS if getattr(args, key, None) is not None}
        objective = getattr(args, "objective", "tm")
        result = plan_for_fit(args.dataset, args.ipc, args.classes, objective, **given)
        if getattr(args, "json", False):
            print(json.dumps({"dataset": args.dataset, "image_shape": list(image_shape)} | result.to_dict()))
            return 0
        row = table_row(args.dataset, args.ipc, objective, args.classes)
        source = "given values" if given else "a table row" if row else "the rule (no row for this fit)"
        print(format_plan(args.dataset, image_shape, result, source))
        return 0


def format_plan(dataset: str, image_shape: tuple[int, int, int], p: SpeedPlan, source: str = "") -> str:
    shape = "×".join(map(str, image_shape))
    capped = f", capped: {p.fits_per_class} would fit" if p.images_per_class < p.fits_per_class else ""
    rows = [
        f"SPEED plan for {dataset} ({shape}, {p.classes} classes), ipc {p.ipc}",
        f"  D={p.dim} K={p.tokens} H={p.heads} k={p.k} R={p.depth} patch={p.patch}"
        f" (J={p.patches}, L={p.patch_len})" + (f", from {source}" if source else ""),
        f"  {'SAETs D·K':<28}{p.saet:>14,.1f}",
        f"  {'codes 1.5·N·H·k':<28}{p.codes:>14,.1f}",
        f"  {'FReeNet R(3D²+7D)+L(D+1)':<28}{p.freenet:>14,.1f}",
        f"  {'total':<28}{p.total:>14,.1f}",
        f"  {'budget':<28}{p.budget:>14,.1f}",
        f"  images: N = {p.images} ({p.images_per_class} per class{capped})",
        f"  non-zero codes per patch H·k/J = {p.codes_per_patch:.2f}; "
        f"shared parts {100 * p.shared_share:.1f} % of the budget",
    ]
    return "\n".join(rows)


PLANNER = SpeedPlanner()
