"""SPEED registers itself exactly as an outside plugin would: lazy "module:object" entries only."""

from benchmark.registries import DECODERS, PARAMETERIZATIONS, PLANNERS, STRATEGIES

PARAMETERIZATIONS.register(
    "speed", "speed.parameterization:SpeedParameterization", description="SPEED: SAETs, sparse codes, FReeNet"
)
DECODERS.register(
    "speed", "speed.decoder:decode_speed", description="SPEED buffer (SAETs, COO codes, FReeNet)"
)
STRATEGIES.register(
    "speed", "speed.strategy:SpeedStrategy", description="SPEED sparse parameterization (objective=tm|dm|…)"
)
PLANNERS.register("speed", "speed.planner:PLANNER", description="SPEED storage plan (paper eq. 7)")
