"""Baselines register themselves here, exactly as an outside plugin would (lazy entries)."""

from benchmark.registries import DECODERS, OBJECTIVES, PARAMETERIZATIONS, STRATEGIES

PARAMETERIZATIONS.register(
    "pixels", "baselines.pixels:PixelParameterization", description="images as parameters"
)
OBJECTIVES.register("dm", "baselines.dm:DistributionMatching", description="distribution matching")
STRATEGIES.register(
    "random", "baselines.selection:RandomStrategy", description="random real images per class"
)
STRATEGIES.register(
    "whole", "baselines.selection:WholeStrategy", description="the full training set (unbudgeted)"
)
STRATEGIES.register("dm", "baselines.strategies:DMStrategy", description="distribution matching on pixels")
DECODERS.register(
    "dataset_split", "baselines.selection:decode_dataset_split", description="a split of a dataset"
)
STRATEGIES.register(
    "herding",
    "baselines.coresets.strategies:HerdingStrategy",
    description="herding (argmin) per class in a trained ConvNet's features",
)
STRATEGIES.register(
    "kcenter",
    "baselines.coresets.strategies:KCenterStrategy",
    description="k-center greedy per class in a trained ConvNet's features",
)
STRATEGIES.register(
    "forgetting",
    "baselines.coresets.strategies:ForgettingStrategy",
    description="most forgotten samples per class (Toneva forgetting events)",
)
