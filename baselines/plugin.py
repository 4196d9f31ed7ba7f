"""Baselines register themselves here, exactly as an outside plugin would (lazy entries)."""

from benchmark.registries import COMMANDS, DECODERS, OBJECTIVES, PARAMETERIZATIONS, STRATEGIES

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
OBJECTIVES.register("tm", "baselines.tm:TrajectoryMatching", description="trajectory matching (MTT)")
OBJECTIVES.register("dc", "baselines.dc:GradientMatching", description="gradient matching (DC)")
OBJECTIVES.register("dsa", "baselines.dc:DSAGradientMatching", description="gradient matching with DSA")
STRATEGIES.register("tm", "baselines.strategies:TMStrategy", description="trajectory matching on pixels")
STRATEGIES.register("dc", "baselines.strategies:DCStrategy", description="gradient matching on pixels")
STRATEGIES.register(
    "dsa", "baselines.strategies:DSAStrategy", description="gradient matching with DSA on pixels"
)
COMMANDS.register(
    "experts", "baselines.experts:EXPERTS_COMMAND", description="train and cache expert trajectories"
)
PARAMETERIZATIONS.register(
    "haba", "baselines.haba:HabaParameterization", description="HaBa bases and hallucinators"
)
DECODERS.register("haba", "baselines.haba:decode_haba", description="every HaBa base × hallucinator image")
STRATEGIES.register(
    "haba", "baselines.strategies:HabaStrategy", description="HaBa bases + hallucinators (objective=tm|dc|…)"
)
