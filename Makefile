# twin: `make run` shows the engine on the bundled demo network; `make test` runs the suite.
# Each target creates its own virtual environment (.venv) on first use.

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# The test suite also runs its store tests against this PostgreSQL (see .ci/run).
TWIN_TEST_POSTGRES_URL ?= postgresql+psycopg://postgres@127.0.0.1:5432/test

.PHONY: venv run test test-fast bench lint typecheck clean browser

venv: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/twin demo

# Browser tests drive Debian's chromium (never Playwright's own download): install it if missing.
browser:
	@command -v chromium >/dev/null || (apt-get update -qq && apt-get install -y -qq chromium >/dev/null) \
		|| echo "chromium could not be installed: the browser tests will be skipped"

test: $(STAMP) browser
	TWIN_TEST_POSTGRES_URL=$(TWIN_TEST_POSTGRES_URL) $(BIN)/python -m pytest -q -p no:cacheprovider

test-fast: $(STAMP)
	$(BIN)/python -m pytest -q -x -p no:cacheprovider -m "not slow and not postgres"

bench: $(STAMP)
	$(BIN)/twin bench --json

lint: $(STAMP)
	@$(BIN)/python -m ruff --version >/dev/null 2>&1 || $(BIN)/pip install --quiet -e '.[lint]'
	$(BIN)/python -m ruff check twin tests
	$(BIN)/python -m ruff format --check twin tests

typecheck: $(STAMP)
	@$(BIN)/python -m mypy --version >/dev/null 2>&1 || $(BIN)/pip install --quiet -e '.[lint]'
	$(BIN)/python -m mypy twin

clean:
	rm -rf $(VENV) build *.egg-info
