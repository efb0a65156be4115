# The two commands a new user needs: `make run` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint typecheck install clean bench

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(BIN)/gateway serve

test: $(STAMP)
	@if command -v npm >/dev/null 2>&1; then npm install --silent --no-audit --no-fund --prefix tests/node >/dev/null; fi
	$(BIN)/python -m pytest -q $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check gateway tests
	$(BIN)/mypy --strict gateway

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache

# `make bench` (BENCH_QUICK=1 for the ~3-minute version; BENCH_ARGS for more flags, e.g. --profile):
# the gateway from .venv, the harness from bench/.venv-bench; bench/run.py installs LiteLLM into
# bench/.venv-litellm itself. Results: bench/results/latest.{md,json,png}.
BENCH_VENV := bench/.venv-bench
BENCH_STAMP := $(BENCH_VENV)/.installed

$(BENCH_STAMP): bench/requirements.txt
	$(PYTHON) -m venv $(BENCH_VENV)
	$(BENCH_VENV)/bin/pip install --quiet --upgrade pip
	$(BENCH_VENV)/bin/pip install --quiet -r bench/requirements.txt
	touch $(BENCH_STAMP)

bench: $(STAMP) $(BENCH_STAMP)
	$(BENCH_VENV)/bin/python bench/run.py $(if $(filter 1 true yes,$(BENCH_QUICK)),--quick) $(BENCH_ARGS)
