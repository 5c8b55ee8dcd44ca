# complaintwatch: `make run` starts the bot on the bundled replay source with the dashboard;
# `make test` runs the checks and the test suite (on PostgreSQL too when
# COMPLAINTWATCH_TEST_DATABASE_URL is set). Both are safe to run again.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
CONFIG ?= config.toml

.PHONY: install run test lint typecheck unit browser-deps bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# torch first and pinned: a looser pin pulls gigabytes of CUDA wheels.
$(STAMP): $(BIN)/python pyproject.toml
	$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

run: install
	$(BIN)/complaintwatch --config $(CONFIG) init --demo-accounts
	$(BIN)/complaintwatch --config $(CONFIG) run

# Debian's Chromium for the browser tests (never `playwright install`); skipped without root.
browser-deps:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq chromium chromium-driver >/dev/null; \
	  else echo "chromium missing and not root: browser tests will be skipped"; fi; }

lint: install
	$(BIN)/ruff check collectors classify monitor dashboard tests bench

typecheck: install
	$(BIN)/mypy

unit: install browser-deps
	@echo "== tests on SQLite"
	env -u COMPLAINTWATCH_TEST_DATABASE_URL $(BIN)/pytest -q -n 2 --dist loadfile
	@if [ -n "$$COMPLAINTWATCH_TEST_DATABASE_URL" ]; then \
	  echo "== the tests that use the database, again on PostgreSQL ($$COMPLAINTWATCH_TEST_DATABASE_URL)"; \
	  $(BIN)/pytest -q -n 2 --dist loadfile -m "not browser" --database-only; \
	fi

test: lint typecheck unit

bench: install
	for script in bench/*.py; do echo "== $$script"; $(BIN)/python $$script || exit 1; done

clean:
	rm -rf $(VENV) var/ .pytest_cache .mypy_cache .ruff_cache test-artifacts
