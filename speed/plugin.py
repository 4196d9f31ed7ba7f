"""SPEED registers itself exactly as an outside plugin would: lazy "module:object" entries only."""

from benchmark.registries import COMMANDS, DECODERS, PARAMETERIZATIONS, REPORTED, STRATEGIES

PARAMETERIZATIONS.register(
    "speed", "speed.parameterization:SpeedParameterization", description="SPEED: SAETs, sparse codes, FReeNet"
)
DECODERS.register(
    "speed", "speed.decoder:decode_speed", description="SPEED buffer (SAETs, COO codes, FReeNet)"
)
STRATEGIES.register(
    "speed",
    "speed.strategy:SpeedStrategy",
    description="SPEED sparse parameterization (objective=tm|dm|…)",
    code="https://github.com/MIV-XJTU/SPEED",  # the paper's own link
)
COMMANDS.register("plan speed", "speed.planner:PLANNER", description="SPEED storage plan (paper eq. 7)")
COMMANDS.register(
    "pictures", "speed.pictures:PICTURES", description="SPEED buffer pictures: images and codes per patch"
)
REPORTED.register("speed-neurips2023", "speed.reported:NUMBERS", description="the SPEED paper, Tables 1–5")
