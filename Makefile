# twin: `make run` shows the engine on the bundled demo network; `make test` runs the suite.
# Each target creates its own virtual environment (.venv) on first use.

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# Two stamps: what the demo needs (the runtime) and, on top, what tests and benchmarks need
# (pytest, hypothesis, playwright, dask…), so `make run` on a fresh clone installs only the first.
STAMP := $(VENV)/.installed
TEST_STAMP := $(VENV)/.installed-test
# The test suite also runs its store tests against this PostgreSQL (see .ci/run).
TWIN_TEST_POSTGRES_URL ?= postgresql+psycopg://postgres@127.0.0.1:5432/test

.PHONY: venv run test test-fast bench lint typecheck clean browser alertmanager

venv: $(STAMP)

# --no-compile: Python compiles what the demo imports on first use, not every module of every
# dependency up front (a large share of a fresh install's time).
$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --no-compile -e .
	touch $(STAMP)

# The runtime was installed without bytecode (for the demo's first start): compile it now, once
# and on every core, instead of in each test worker and subprocess that first imports it.
$(TEST_STAMP): $(STAMP)
	$(BIN)/pip install --quiet -e '.[test,parquet]'
	$(BIN)/python -m compileall -q -j 0 $(VENV)/lib >/dev/null || true
	touch $(TEST_STAMP)

run: $(STAMP)
	$(BIN)/twin demo

# Browser tests drive Debian's chromium (never Playwright's own download): install it if missing.
browser:
	@command -v chromium >/dev/null || (apt-get update -qq && apt-get install -y -qq chromium >/dev/null) \
		|| echo "chromium could not be installed: the browser tests will be skipped"

# Paging is tested against Debian's Alertmanager as well as fake receivers: install it if missing.
alertmanager:
	@command -v prometheus-alertmanager >/dev/null \
		|| (apt-get update -qq && apt-get install -y -qq prometheus-alertmanager >/dev/null) \
		|| echo "prometheus-alertmanager could not be installed: its test will be skipped"

# One pytest worker per core (pytest-xdist); tests sharing a cached replay stay on one worker.
TEST_WORKERS ?= auto

test: $(TEST_STAMP) browser alertmanager
	TWIN_TEST_POSTGRES_URL=$(TWIN_TEST_POSTGRES_URL) $(BIN)/python -m pytest -q -p no:cacheprovider \
		-n $(TEST_WORKERS) --dist loadgroup

test-fast: $(TEST_STAMP)
	$(BIN)/python -m pytest -q -x -p no:cacheprovider -m "not slow and not postgres"

bench: $(TEST_STAMP)
	$(BIN)/twin bench --json

# The lint extra (ruff, mypy, stubs) is installed on first use, when either tool is missing.
LINT_TOOLS := $(BIN)/python -m ruff --version >/dev/null 2>&1 && $(BIN)/python -m mypy --version >/dev/null 2>&1

lint: $(STAMP)
	@$(LINT_TOOLS) || $(BIN)/pip install --quiet -e '.[lint]'
	$(BIN)/python -m ruff check twin tests
	$(BIN)/python -m ruff format --check twin tests
	$(BIN)/python -m mypy twin

typecheck: $(STAMP)
	@$(LINT_TOOLS) || $(BIN)/pip install --quiet -e '.[lint]'
	$(BIN)/python -m mypy twin

clean:
	rm -rf $(VENV) build *.egg-info
