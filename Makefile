# Two commands for a fresh Debian/Ubuntu machine:  `make run` (the main job) and `make test`.
VENV ?= .venv
PYTHON ?= python3
PY := $(VENV)/bin/python
PIP := $(PY) -m pip

.PHONY: setup data browser run test lint bench gpu-check

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip
	# torch first, on its own: where pip is capped to a local wheel this picks it up.
	$(PIP) install --quiet "torch>=2.2" "torchvision>=0.17"
	$(PIP) install --quiet -e ".[dev,corruptions,ray]"
	touch $@

setup: $(VENV)/.installed data browser

# Fashion-MNIST: Debian's package where apt exists, else torchvision's download.
data:
	@if [ -f /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz ]; then :; \
	elif command -v apt-get >/dev/null 2>&1; then \
		SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		$$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq dataset-fashion-mnist; \
	else \
		$(PY) -c "from benchmark.data import load_dataset, DatasetOptions; load_dataset('fashion_mnist', DatasetOptions(download=True))"; \
	fi

# Headless Chromium for tests/test_leaderboard_browser.py: Debian's packages where apt exists, else
# nothing (that test then skips, naming the missing browser).
browser:
	@if [ -x /usr/bin/chromedriver ] && command -v chromium >/dev/null 2>&1; then :; \
	elif command -v apt-get >/dev/null 2>&1; then \
		SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		$$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq chromium chromium-driver; \
	fi

run: setup
	$(PY) -m benchmark run --suite continual

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check .

test: setup lint
	$(PY) -m pytest

bench: setup
	$(PY) -m pytest benchmarks --benchmark-only -p no:cacheprovider

# Paper-scale checks for one large GPU (about five minutes): studies/gpu_check.py says what each stage measures.
gpu-check: setup
	$(PY) studies/gpu_check.py --device cuda --output-dir results/gpu-check
