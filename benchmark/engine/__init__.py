"""The engine: the services every suite, command, study and integration uses.

``Engine(options, profile)`` holds the result store, the device and two named services:
``buffers`` (data, spec resolution, buffer keys, fit + manifest + budget check + save) and
``evaluation`` (train one job's network, write its record, tell what is still to do).
"""

from __future__ import annotations

from benchmark.allocator import keep_freed_memory
from benchmark.device import resolve_device
from benchmark.engine.buffers import BufferService
from benchmark.engine.evaluation import EvaluationService
from benchmark.options import EngineOptions
from benchmark.profiles import Profile
from benchmark.results.store import ResultStore


class Engine:
    def __init__(self, options: EngineOptions, profile: Profile):
        self.options = options
        self.profile = profile
        self.store = ResultStore(options.output_dir)
        self.device = resolve_device(options.device)
        keep_freed_memory()  # no page faults on every step's fresh activations (docs/performance.md)
        self.buffers = BufferService(self.store, options, profile, self.device)
        self.evaluation = EvaluationService(self.store, options, self.device)
