"""Baselines register themselves here, exactly as an outside plugin would (lazy entries).

A strategy's registration carries the links a leaderboard shows (``paper``, ``code``).
"""

from benchmark.registries import COMMANDS, DECODERS, OBJECTIVES, PARAMETERIZATIONS, REPORTED, STRATEGIES

DC_CODE = "https://github.com/VICO-UoE/DatasetCondensation"

PARAMETERIZATIONS.register(
    "pixels", "baselines.pixels:PixelParameterization", description="images as parameters"
)
PARAMETERIZATIONS.register(
    "haba", "baselines.haba:HabaParameterization", description="HaBa bases and hallucinators"
)
OBJECTIVES.register("dm", "baselines.dm:DistributionMatching", description="distribution matching")
OBJECTIVES.register("tm", "baselines.tm:TrajectoryMatching", description="trajectory matching (MTT)")
OBJECTIVES.register("dc", "baselines.dc:GradientMatching", description="gradient matching (DC)")
OBJECTIVES.register("dsa", "baselines.dc:DSAGradientMatching", description="gradient matching with DSA")
DECODERS.register(
    "dataset_split", "baselines.selection:decode_dataset_split", description="a split of a dataset"
)
DECODERS.register("haba", "baselines.haba:decode_haba", description="every HaBa base × hallucinator image")

for name, target, description, links in [
    ("random", "selection:RandomStrategy", "random real images per class (the reference)", {}),
    ("whole", "selection:WholeStrategy", "the full training set (unbudgeted upper bound)", {}),
    ("herding", "coresets.strategies:HerdingStrategy",
     "herding (argmin) per class in a trained ConvNet's features", {}),
    ("kcenter", "coresets.strategies:KCenterStrategy",
     "k-center greedy per class in a trained ConvNet's features", {"paper": "https://arxiv.org/abs/1708.00489"}),
    ("forgetting", "coresets.strategies:ForgettingStrategy",
     "most forgotten samples per class (Toneva forgetting events)", {"paper": "https://arxiv.org/abs/1812.05159"}),
    ("dm", "dm:DMStrategy", "distribution matching on pixels",
     {"paper": "https://arxiv.org/abs/2110.04181", "code": DC_CODE}),
    ("tm", "tm:TMStrategy", "trajectory matching on pixels",
     {"paper": "https://arxiv.org/abs/2203.11932", "code": "https://github.com/GeorgeCazenavette/mtt-distillation"}),
    ("dc", "dc:DCStrategy", "gradient matching on pixels",
     {"paper": "https://arxiv.org/abs/2006.05929", "code": DC_CODE}),
    ("dsa", "dc:DSAStrategy", "gradient matching with DSA on pixels",
     {"paper": "https://arxiv.org/abs/2102.08259", "code": DC_CODE}),
    ("haba", "haba:HabaStrategy", "HaBa bases + hallucinators (objective=tm|dc|…)",
     {"paper": "https://arxiv.org/abs/2210.16774", "code": "https://github.com/Huage001/DatasetFactorization"}),
]:  # fmt: skip
    STRATEGIES.register(name, f"baselines.{target}", description=description, **links)

COMMANDS.register(
    "experts", "baselines.experts:EXPERTS_COMMAND", description="train and cache expert trajectories"
)
REPORTED.register(
    "dc-dsa-fashion-mnist",
    "baselines.reported:NUMBERS",
    description="the DC and DSA papers (docs/protocol.md §10)",
)
