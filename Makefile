# Every target does its own set-up from a fresh clone.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: test lint typecheck pytest package synth clean node-deps local

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

## The whole test suite: lint, types, then pytest (no tests collected counts as a failure).
test: lint typecheck pytest

lint: $(STAMP)
	$(BIN)/ruff check .

typecheck: $(STAMP)
	$(BIN)/mypy

pytest: $(STAMP) node-deps
	$(BIN)/pytest

## The adapter's, the sample app's and the dashboard's npm dependencies, exactly as locked.
node-deps:
	cd web/adapter && npm ci --no-audit --no-fund
	cd tests/fixtures/sample-app && npm ci --no-audit --no-fund
	cd web/dashboard && npm ci --no-audit --no-fund

## Build every artifact and the templates locally (no AWS needed).
package: $(STAMP)
	$(BIN)/battleshiper package

synth: $(STAMP)
	$(BIN)/battleshiper synth

clean:
	rm -rf $(VENV) .battleshiper

## The whole platform on this machine (docs/LOCAL.md): moto, the local edge, the sample project.
local: $(STAMP) node-deps
	$(BIN)/battleshiper local up
