"""The project's registries, one :class:`Registry` per kind of named thing, grouped by kind.

The harness registers its own entries here, lazily; ``speed``, ``baselines`` and outside plugins
add theirs the same way from their own modules (entry points, or ``--plugin file.py``). Every
registry discovers installed plugins the first time a name is missing, so no caller loads them.
"""

from benchmark.registry import Registry

# ---- data and networks ----------------------------------------------------------------------------
# A dataset: a loader (DatasetOptions → mean/std-normalised ClassData) with its image ``shape``
# (C, H, W), ``classes`` and ``train_per_class`` registered beside it, so planners need no data and
# no table of their own.
DATASETS: Registry = Registry("dataset", discover=True)
# A network: a factory (channels, image_size, num_classes, **options) → nn.Module with ``embed``.
NETWORKS: Registry = Registry("network", discover=True)

# ---- methods --------------------------------------------------------------------------------------
STRATEGIES: Registry = Registry("strategy", discover=True)  # Strategy classes; info: paper, code
OBJECTIVES: Registry = Registry("objective", discover=True)  # matching losses
PARAMETERIZATIONS: Registry = Registry("parameterization", discover=True)  # learnable synthetic sets
DECODERS: Registry = Registry("decoder", discover=True)  # buffer kind → (tensors, manifest) → images

# ---- running and reporting ------------------------------------------------------------------------
SUITES: Registry = Registry("suite", discover=True)  # Suite classes
EXECUTORS: Registry = Registry("executor", discover=True)  # run a suite's cells
REPORTED: Registry = Registry("source of reported numbers", discover=True)  # ReportedNumbers
# Commands of `python -m benchmark`: objects with ``help``, ``add_arguments(parser)``, ``run(args)``.
# A two-word name ("plan speed") is a sub-command of its first word.
COMMANDS: Registry = Registry("command", discover=True)

# ---- the harness's own entries --------------------------------------------------------------------
# train_per_class: the training images of the dataset's smallest class as distributed (before the
# validation hold-out); planners keep a class's synthetic images at most that many.
for _name, _loader, _shape, _classes, _per_class, _text in [
    ("fashion_mnist", "fashion_mnist:load_fashion_mnist", (1, 28, 28), 10, 6000,
     "Fashion-MNIST, 10 classes, 28×28×1 (the embedded default, real data)"),
    ("digits", "digits:load_digits", (1, 8, 8), 10, 139,  # after the loader's fixed 20 % test split
     "scikit-learn's bundled 8×8 digits, 10 classes (tiny real data for tests)"),
    ("mnist", "mnist:load_mnist", (1, 28, 28), 10, 5421, "MNIST, 10 classes, 28×28×1 (idx files)"),
    ("cifar10", "cifar:load_cifar10", (3, 32, 32), 10, 5000,
     "CIFAR-10, 10 classes, 32×32×3 (python pickles)"),
    ("cifar100", "cifar:load_cifar100", (3, 32, 32), 100, 500,
     "CIFAR-100, 100 fine classes, 32×32×3 (python pickles)"),
    ("tinyimagenet", "tinyimagenet:load_tinyimagenet", (3, 64, 64), 200, 500,
     "TinyImageNet (tiny-imagenet-200), 200 classes, 64×64×3"),
    *[
        # 732: ImageNet-1k's smallest training class, a lower bound for every subset
        (subset, f"imagenet_subsets:load_{subset}", (3, 128, 128), 10, 732,
         f"ImageNet subset {subset} ({what}), 128×128×3, from an ImageNet train/val tree")
        for subset, what in [
            ("imagenette", "10 easy classes"), ("imagewoof", "10 dog breeds"), ("imagefruit", "10 fruits"),
            ("imagemeow", "10 cats"), ("imagesquawk", "10 birds"), ("imageyellow", "10 yellow things"),
        ]
    ],
]:  # fmt: skip
    DATASETS.register(
        _name, f"benchmark.data.{_loader}", description=_text, shape=_shape, classes=_classes,
        train_per_class=_per_class,
    )  # fmt: skip

for _name, _factory, _text in [
    ("ConvNet", "convnet:convnet", "ConvNet-128, depth 3"),
    ("ConvNetD4", "convnet:convnet_d4", "ConvNet, depth 4"),
    ("ConvNetD5", "convnet:convnet_d5", "ConvNet, depth 5"),
    ("ConvNetD6", "convnet:convnet_d6", "ConvNet, depth 6"),
    ("MLP", "mlp:mlp", "MLP 128-128"),
    ("ResNet18", "resnet:resnet18", "ResNet-18, instance norm"),
    ("ResNet18BN", "resnet:resnet18_bn", "ResNet-18, batch norm"),
    ("ResNet18_AP", "resnet:resnet18_ap", "ResNet-18, avg-pool downsampling"),
    ("ViT", "vit:vit", "ViT: patch 4, dim 512, depth 6, 8 heads"),
    ("AlexNet", "alexnet:alexnet", "AlexNet (DC variant)"),
    ("VGG11", "vgg:vgg11", "VGG-11, instance norm"),
    ("LeNet", "lenet:lenet", "LeNet-5"),
]:
    NETWORKS.register(_name, f"benchmark.nets.{_factory}", description=_text)

DECODERS.register("pixels", "benchmark.pixels:decode_pixels", description="images stored as pixels")

for _name, _suite, _text in [
    ("standard", "standard:StandardSuite", "accuracy per (strategy, ipc)"),
    ("cross-arch", "cross_arch:CrossArchSuite",
     "accuracy of each buffer on ConvNet, MLP, ResNet18, ViT (AlexNet, VGG11 selectable)"),
    ("continual", "continual:ContinualSuite", "GDumb-style class-incremental"),
    ("corruption", "corruption:CorruptionSuite",
     "accuracy on corrupted test sets (CIFAR-10-C style, 19 corruptions × 5 severities)"),
]:  # fmt: skip
    SUITES.register(_name, f"benchmark.suites.{_suite}", description=_text)

EXECUTORS.register("local", "benchmark.executors:LocalExecutor", description="run cells in this process")
EXECUTORS.register("ray", "benchmark.executors:RayExecutor", description="each cell a Ray task (extra [ray])")

for _name, _command, _text in [
    ("list", "commands:LIST", "list strategies, datasets, networks, suites, profiles, …"),
    ("run", "commands:RUN", "run a suite: distill what is missing, evaluate, write records"),
    ("distill", "commands:DISTILL", "distill one buffer and save it"),
    ("evaluate", "commands:EVALUATE", "train fresh networks on a saved buffer"),
    ("show", "commands:SHOW", "print recorded results as the suites' tables (or CSV/JSON)"),
    ("export", "commands:EXPORT", "write a buffer's images, labels, class names and lr as png/npz/pt"),
    ("leaderboard", "report.commands:LEADERBOARD",
     "leaderboard.md/.html, tables/*.csv and figures from every record"),
    ("compare", "report.commands:COMPARE", "paper-profile cells beside the published numbers"),
    ("contrast", "report.commands:CONTRAST",
     "strategy differences with Welch 95 % intervals over distillation seeds"),
]:  # fmt: skip
    COMMANDS.register(_name, f"benchmark.{_command}", description=_text)
del _name, _text, _per_class
