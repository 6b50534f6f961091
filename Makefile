# vlmsel: two commands for a fresh machine (see README.md).
#   make book   execute every chapter at CI scale with papermill, then build the HTML book (_build/html)
#   make test   the whole suite: lint, unit tests, notebook-pair sync, the book, nbval on the executed
#               chapters, and the checks of the built book (tests/book)
# Both create .venv and install the project into it when needed.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
EXECUTED := _build/executed
CHAPTERS := $(sort $(wildcard notebooks/[0-9][0-9]_*.py))
# Seconds a single notebook cell may run before papermill/nbval stop it (no unlimited timeouts).
CELL_TIMEOUT ?= 600

# Offline by design: no model hub, no progress bars in logs; ground-truth tables from a local copy when
# the project sits beside one (as in CI), else from the user cache (downloaded and sha256-checked).
export HF_HUB_OFFLINE := 1
export VLMSEL_PROGRESS := 0
export PYTHONHASHSEED := 0
ifneq ($(wildcard ../shared/data/lovm/LOVM/eval_table.csv),)
export VLMSEL_DATA_DIR ?= $(abspath ../shared/data)
endif

.PHONY: help venv book execute html test unit quick lint nbval built sync clean

help:
	@echo "make book   - execute all chapters (CI scale) and build the HTML book into _build/html"
	@echo "make test   - lint, unit tests, notebook-pair check, book build, nbval and the built-book checks (what CI runs)"
	@echo "make quick  - the fast unit tests (not marked slow; under 2 minutes)"
	@echo "make lint   - ruff (lint and format check) and mypy"
	@echo "make sync   - regenerate notebooks/*.ipynb from their .py sources (jupytext)"
	@echo "make clean  - remove _build"

venv: $(STAMP)

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[test]"
	@touch $(STAMP)

# --- the book --------------------------------------------------------------------------------------
execute: $(STAMP)
	@mkdir -p $(EXECUTED)/notebooks
	@for py in $(CHAPTERS); do \
	  nb=$${py%.py}.ipynb; name=$$(basename $$nb); start=$$(date +%s); \
	  $(BIN)/papermill --no-progress-bar --log-level WARNING --execution-timeout $(CELL_TIMEOUT) --cwd notebooks \
	      -k python3 $$nb $(EXECUTED)/notebooks/$$name; \
	  echo "executed $$name in $$(( $$(date +%s) - start )) s"; \
	done

html: $(STAMP)
	@rm -rf $(EXECUTED)/book && cp -r book _config.yml _toc.yml $(EXECUTED)/
	$(BIN)/jupyter-book build -W -n --keep-going --path-output . $(EXECUTED)
	@echo "book: $(abspath _build/html/index.html)"

book: execute html

# --- tests -----------------------------------------------------------------------------------------
unit: $(STAMP)
	$(BIN)/python -m pytest -q tests

# The fast subset for a developer's edit-test loop: every test not marked slow (CONTRIBUTING.md).
quick: $(STAMP)
	$(BIN)/python -m pytest -q -m "not slow" -p no:cacheprovider tests

# ruff lints and checks the format of the package, tests and speed scripts; mypy checks the package's types
# (configured in pyproject.toml). `$(BIN)/ruff format vlmsel tests perf` fixes the format.
lint: $(STAMP)
	$(BIN)/ruff check vlmsel tests perf
	$(BIN)/ruff format --check vlmsel tests perf
	$(BIN)/mypy

nbval: $(STAMP)
	$(BIN)/python -m pytest -q -p no:cacheprovider --nbval-lax --nbval-cell-timeout=$(CELL_TIMEOUT) \
	    $(EXECUTED)/notebooks

# The built book reads clean: no chapter prints a warning, no page shows a MyST role as text.
built: $(STAMP)
	VLMSEL_BUILT_BOOK=_build $(BIN)/python -m pytest -q -p no:cacheprovider tests/book

test: lint unit book nbval built

sync: $(STAMP)
	$(BIN)/python -m vlmsel.colab --write   # badges and install cells from vlmsel/colab.py
	$(BIN)/jupytext --sync $(CHAPTERS)

clean:
	rm -rf _build
