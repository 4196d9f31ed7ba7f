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
