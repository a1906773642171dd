PY ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
CONFIG ?= config/monitor.yaml

.PHONY: install dev run test lint typecheck bench clean

$(BIN)/activate:
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

$(VENV)/.installed: $(BIN)/activate pyproject.toml
	$(BIN)/pip install -q -e .
	touch $@

$(VENV)/.dev: $(VENV)/.installed
	$(BIN)/pip install -q -e '.[dev]'
	touch $@

$(VENV)/.bench: $(VENV)/.dev
	$(BIN)/pip install -q -e '.[dev,bench]'
	touch $@

install: $(VENV)/.installed

dev: $(VENV)/.dev

run: $(VENV)/.installed
	$(BIN)/monitor run -c $(CONFIG)

test: $(VENV)/.dev
	$(BIN)/ruff check monitor tests
	$(BIN)/mypy monitor
	$(BIN)/python -m pytest -q

lint: $(VENV)/.dev
	$(BIN)/ruff check monitor tests
	$(BIN)/mypy monitor

bench: $(VENV)/.bench
	$(BIN)/python tests/benchmarks/run.py $(BENCH)

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
