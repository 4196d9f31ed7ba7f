"""The project's registries, one instance of :class:`Registry` per kind of named thing.

The harness's own entries are registered here lazily; ``speed``, ``baselines`` and outside
plugins add theirs through :mod:`benchmark.plugins`.
"""

from benchmark.registry import Registry

DATASETS: Registry = Registry("dataset")
NETWORKS: Registry = Registry("network")
STRATEGIES: Registry = Registry("strategy")
OBJECTIVES: Registry = Registry("objective")
PARAMETERIZATIONS: Registry = Registry("parameterization")
DECODERS: Registry = Registry("decoder")
SUITES: Registry = Registry("suite")
EXECUTORS: Registry = Registry("executor")

# Datasets: loaders taking DatasetOptions and returning ClassData.
DATASETS.register(
    "fashion_mnist",
    "benchmark.data.fashion_mnist:load_fashion_mnist",
    description="Fashion-MNIST, 10 classes, 28×28×1 (the embedded default, real data)",
)
DATASETS.register(
    "digits",
    "benchmark.data.digits:load_digits",
    description="scikit-learn's bundled 8×8 digits, 10 classes (tiny real data for tests)",
)

# Networks: factories (channels, image_size, num_classes, **options) -> nn.Module.
NETWORKS.register("ConvNet", "benchmark.nets.convnet:convnet", description="ConvNet-128, depth 3")
NETWORKS.register("ConvNetD4", "benchmark.nets.convnet:convnet_d4", description="ConvNet, depth 4")
NETWORKS.register("ConvNetD5", "benchmark.nets.convnet:convnet_d5", description="ConvNet, depth 5")
NETWORKS.register("ConvNetD6", "benchmark.nets.convnet:convnet_d6", description="ConvNet, depth 6")
NETWORKS.register("MLP", "benchmark.nets.mlp:mlp", description="MLP 128-128")

# Decoders: buffer kind -> function(tensors, manifest) -> images (class-major).
DECODERS.register("pixels", "benchmark.decoders:decode_pixels", description="images stored as pixels")

# Planners: `python -m benchmark plan NAME`; objects with add_arguments(parser) and run(args) -> int.
PLANNERS: Registry = Registry("planner")
DATASETS.register(
    "mnist", "benchmark.data.mnist:load_mnist", description="MNIST, 10 classes, 28×28×1 (idx files)"
)
DATASETS.register(
    "cifar10",
    "benchmark.data.cifar:load_cifar10",
    description="CIFAR-10, 10 classes, 32×32×3 (python pickles)",
)
DATASETS.register(
    "cifar100",
    "benchmark.data.cifar:load_cifar100",
    description="CIFAR-100, 100 fine classes, 32×32×3 (python pickles)",
)
DATASETS.register(
    "tinyimagenet",
    "benchmark.data.tinyimagenet:load_tinyimagenet",
    description="TinyImageNet (tiny-imagenet-200), 200 classes, 64×64×3",
)
for _subset, _what in [
    ("imagenette", "10 easy classes"),
    ("imagewoof", "10 dog breeds"),
    ("imagefruit", "10 fruits"),
    ("imagemeow", "10 cats"),
    ("imagesquawk", "10 birds"),
    ("imageyellow", "10 yellow things"),
]:
    DATASETS.register(
        _subset,
        f"benchmark.data.imagenet_subsets:load_{_subset}",
        description=f"ImageNet subset {_subset} ({_what}), 128×128×3, from an ImageNet train/val tree",
    )
del _subset, _what

NETWORKS.register("ResNet18", "benchmark.nets.resnet:resnet18", description="ResNet-18, instance norm")
NETWORKS.register("ResNet18BN", "benchmark.nets.resnet:resnet18_bn", description="ResNet-18, batch norm")
NETWORKS.register(
    "ResNet18_AP", "benchmark.nets.resnet:resnet18_ap", description="ResNet-18, avg-pool downsampling"
)
NETWORKS.register("ViT", "benchmark.nets.vit:vit", description="ViT: patch 4, dim 512, depth 6, 8 heads")
NETWORKS.register("AlexNet", "benchmark.nets.alexnet:alexnet", description="AlexNet (DC variant)")
NETWORKS.register("VGG11", "benchmark.nets.vgg:vgg11", description="VGG-11, instance norm")
NETWORKS.register("LeNet", "benchmark.nets.lenet:lenet", description="LeNet-5")

# Extra CLI commands from plugins (`python -m benchmark NAME`): objects with help, add_arguments, run.
COMMANDS: Registry = Registry("command")

SUITES.register(
    "standard", "benchmark.suites.standard:StandardSuite", description="accuracy per (strategy, ipc)"
)
SUITES.register(
    "continual", "benchmark.suites.continual:ContinualSuite", description="GDumb-style class-incremental"
)
EXECUTORS.register("local", "benchmark.executors:LocalExecutor", description="run cells in this process")

# Reports (benchmark/report): the leaderboard and the comparison with the published numbers.
COMMANDS.register(
    "leaderboard",
    "benchmark.report.commands:LEADERBOARD",
    description="leaderboard.md/.html, tables/*.csv and figures from every record",
)
COMMANDS.register(
    "compare",
    "benchmark.report.commands:COMPARE",
    description="paper-profile cells beside the SPEED paper's reported numbers",
)
COMMANDS.register(
    "contrast",
    "benchmark.report.commands:CONTRAST",
    description="strategy differences with Welch 95 % intervals over distillation seeds",
)
SUITES.register(
    "cross-arch",
    "benchmark.suites.cross_arch:CrossArchSuite",
    description="accuracy of each buffer on ConvNet, MLP, ResNet18, ViT (AlexNet, VGG11 selectable)",
)
SUITES.register(
    "corruption",
    "benchmark.suites.corruption:CorruptionSuite",
    description="accuracy on corrupted test sets (CIFAR-10-C style, 19 corruptions × 5 severities)",
)
EXECUTORS.register("ray", "benchmark.executors:RayExecutor", description="each cell a Ray task (extra [ray])")
