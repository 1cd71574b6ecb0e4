# Every target sets itself up: a fresh machine needs only python3 and make.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
CHECKOV_VENV := .venv-checkov
# Files are UTF-8 whatever the machine's locale (a dependency opens its schemas without an encoding).
export PYTHONUTF8 := 1

.PHONY: venv checkov test lint typecheck unit contract system demo bench clean

venv: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

# checkov pins its own dependency tree, so it lives in a venv of its own.
checkov: $(CHECKOV_VENV)/.installed

$(CHECKOV_VENV)/.installed:
	$(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/pip install --quiet --upgrade pip
	$(CHECKOV_VENV)/bin/pip install --quiet 'checkov==3.3.30'
	touch $@

lint: venv
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks
	$(BIN)/lint-imports

typecheck: venv
	$(BIN)/mypy

# The test tiers in order (markers assigned by folder, tests/conftest.py), each in a network
# namespace holding only loopback where the machine allows one (tests/netns.py); elsewhere
# behind the suite's in-process guard.
PYTEST := $(BIN)/python -m tests.netns $(BIN)/pytest -n 2

unit: venv checkov
	$(PYTEST) -m unit

contract: venv
	$(PYTEST) -m contract

system: venv
	$(PYTEST) -m system

test: lint typecheck unit contract system

# The deploy workflow step by step (~40 s), then the seed's tasks on a deployed twin (~2 min).
demo: venv
	RUNNERFLEET=$(abspath $(BIN))/runnerfleet ./scripts/demo.sh
	$(BIN)/runnerfleet sandbox demo

bench: venv
	$(BIN)/python -m benchmarks.run_all

clean:
	rm -rf $(VENV) $(CHECKOV_VENV) build dist src/*.egg-info
