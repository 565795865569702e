# The few verbs people type. Everything installs into .venv on first use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
export DAGSTER_HOME ?= $(CURDIR)/.dagster

.PHONY: install run test lint ui bench docs

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

install: $(VENV)/.installed

## make run: write the demo landing data (when absent) and materialize its 48 hours into the warehouse.
run: install
	$(BIN)/metricstore demo

## make test: lint, type-check and the whole test suite.
test: install lint
	$(BIN)/python -m pytest -q -n 2

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/mypy scripts

## make ui: the Dagster UI (runs, backfills, schedule, checks) on http://127.0.0.1:3000
ui: install
	$(BIN)/python -c "from orchestration.runner import ensure_dagster_home; ensure_dagster_home()"
	# `dagster dev` itself warns that `dg dev` supersedes it; the contract's command is `dagster dev`.
	PYTHONWARNINGS='ignore:Function `dev_command` is superseded' $(BIN)/dagster dev -w workspace.yaml

## make bench: benchmarks, figures into bench/results/.
bench: install
	$(BIN)/python -m bench

## make docs: regenerate the JSON Schema of definition files and the built-in catalog page.
docs: install
	$(BIN)/metricstore defs schema
	$(BIN)/metricstore defs catalog-doc
