# Schängel — two commands for a fresh machine (Python 3.11, git, the package registry):
#   make run    set up, ingest the bundled sample corpus, serve on http://127.0.0.1:8000
#   make test   set up (with dev + local extras and Chromium), lint, type-check, run all tests

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
HOST   ?= 127.0.0.1
PORT   ?= 8000

.PHONY: run test setup setup-dev browser lint bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

# torch==2.13.0 is pinned in pyproject.toml: the CPU wheel, never a multi-GB CUDA build.
$(VENV)/.core: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.dev: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[local,dev]'
	touch $@ $(VENV)/.core

setup: $(VENV)/.core
setup-dev: $(VENV)/.dev

# Debian's Chromium for the browser tests; never a browser download by Playwright.
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  echo "installing Debian chromium for the browser tests"; \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium) >/dev/null; }

run: setup
	$(BIN)/schaengel ingest samples/corpus
	$(BIN)/schaengel serve --host $(HOST) --port $(PORT)

lint: setup-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

test: setup-dev browser lint
	$(BIN)/pytest

bench: setup-dev
	$(BIN)/python bench/run_all.py

clean:
	rm -rf $(VENV) data .pytest_cache .mypy_cache .ruff_cache
