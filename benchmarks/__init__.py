"""pytest-benchmark performance benchmarks (``make bench``); not part of the default test command."""
