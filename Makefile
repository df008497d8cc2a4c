# The two commands: `make demo` and `make test`. Both create the environment first.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV ?= .venv
BIN := $(VENV)/bin
export DAGSTER_HOME ?= $(CURDIR)/.dagster_home

.PHONY: demo test lint lock dev clean bench bench-anonymiser

# Dagster's instance config for the default DAGSTER_HOME: local storage, the run queue with
# one run per site at a time, telemetry off (deploy/README.md).
$(DAGSTER_HOME)/dagster.yaml: deploy/dagster-local.yaml
	mkdir -p $(DAGSTER_HOME)
	cp deploy/dagster-local.yaml $@

$(BIN)/.installed: requirements.lock pyproject.toml
	$(PYTHON) -c 'import sys; assert sys.version_info[:2] == (3, 11), "Python 3.11 is required"'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check --require-hashes -r requirements.lock
	$(BIN)/pip install --quiet --disable-pip-version-check --no-deps -e .
	$(BIN)/ariadne prepare
	touch $@

## Materialise every round in raw/ into the embedded SQLite warehouse and print a summary.
demo: $(BIN)/.installed
	$(BIN)/ariadne materialise

## Headless Chromium for the impact report's browser tests: Debian's package, installed once.
/usr/bin/chromium:
	apt-get install -y --no-install-recommends chromium || \
	  (apt-get update && apt-get install -y --no-install-recommends chromium)

## Run the whole test suite (PostgreSQL tests need the server at ARIADNE_TEST_POSTGRES_URL).
test: $(BIN)/.installed /usr/bin/chromium
	$(BIN)/pytest

## ruff, and Dagster's own check that the definitions load.
lint: $(BIN)/.installed $(DAGSTER_HOME)/dagster.yaml
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	VIRTUAL_ENV=$(abspath $(VENV)) $(BIN)/dg check defs

## Open the Dagster UI on the asset graph, partitions and checks.
dev: $(BIN)/.installed $(DAGSTER_HOME)/dagster.yaml
	$(BIN)/dg dev

## The whole pipeline on a generated national round beside plain Presidio and spaCy NER alone
## (benchmarks/README.md; about 25 minutes; the table goes to benchmarks/results/end-to-end.md).
bench: $(BIN)/.installed
	$(BIN)/python -m benchmarks.pipeline

## The anonymiser against plain Presidio on the same generated corpus (benchmarks/README.md).
bench-anonymiser: $(BIN)/.installed
	$(BIN)/python -m benchmarks.anonymiser

## Re-resolve requirements.lock from pyproject.toml, every file pinned by hash (needs the registry).
lock:
	rm -rf /tmp/ariadne-lock && $(PYTHON) -m venv /tmp/ariadne-lock
	/tmp/ariadne-lock/bin/pip install --quiet pip-tools==7.5.2
	/tmp/ariadne-lock/bin/pip-compile --quiet --generate-hashes --allow-unsafe --no-strip-extras \
	  --extra test --extra bench --no-emit-index-url --no-emit-find-links \
	  -o requirements.lock pyproject.toml

clean:
	rm -rf $(VENV) staging .dagster_home build warehouse/*.db warehouse/data_docs
