# Every target does its own set-up from a fresh clone.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: test lint typecheck pytest package synth clean node-deps local chromium

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

## The whole test suite: lint, types, then pytest (no tests collected counts as a failure).
test: chromium lint typecheck pytest

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/lint-imports --no-logo --no-cache

typecheck: $(STAMP)
	$(BIN)/mypy

pytest: $(STAMP) node-deps chromium
	$(BIN)/pytest

## Debian's Chromium, which the dashboard's browser tests drive and neither pip nor npm can install:
## installed with apt-get when missing and run as root; otherwise stop at once with the command to run.
CHROMIUM ?= chromium
chromium:
	@command -v $(CHROMIUM) >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "Installing Debian's Chromium for the browser tests (apt-get install chromium)"; \
	    DEBIAN_FRONTEND=noninteractive apt-get update -qq && \
	    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(CHROMIUM) >/dev/null; \
	  else \
	    echo "make test needs Chromium for the dashboard's browser tests; install it, then run make test again:" >&2; \
	    echo "    sudo apt-get install -y chromium" >&2; \
	    exit 1; \
	  fi; }

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
