# The two commands a new user needs: `make run` (serving dependencies only) and `make test`
# (adds the test, lint and vendor-SDK tools). Both set up .venv on first use.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
RUN_STAMP := $(VENV)/.installed-run
DEV_STAMP := $(VENV)/.installed-dev

.PHONY: run test lint typecheck install dev clean bench realmodel

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(RUN_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	touch $@

$(DEV_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(RUN_STAMP) $@

install: $(RUN_STAMP)

dev: $(DEV_STAMP)

run: $(RUN_STAMP)
	@echo "gateway: the command is $(abspath $(BIN))/gateway; to run it by name in this shell:"
	@echo "  export PATH=\"$(abspath $(BIN)):\$$PATH\"    (or: source $(VENV)/bin/activate)"
	$(BIN)/gateway serve

test: $(DEV_STAMP)
	@if command -v npm >/dev/null 2>&1; then npm install --silent --no-audit --no-fund --prefix tests/node >/dev/null; fi
	$(BIN)/python -m pytest -q $(PYTEST_ARGS)

lint: $(DEV_STAMP)
	$(BIN)/ruff check gateway tests
	$(BIN)/mypy --strict gateway tests

# The real inference server tests/realmodel runs against (llama-cpp-python + Gemma 3 270M, in
# tests/realmodel/.venv; wheels and GGUF cached in ~/.cache/gateway-realmodel). The suite installs it
# itself when missing; this shows the progress of the first, minutes-long build.
realmodel: | $(BIN)/python
	$(BIN)/python tests/realmodel/install.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache

# `make bench` (BENCH_QUICK=1 for the ~3-minute version; BENCH_ARGS for more flags, e.g. --profile):
# the gateway from .venv, the harness from bench/.venv-bench; bench/run.py installs LiteLLM into
# bench/.venv-litellm itself. Results: bench/results/latest.{md,json,png}; then the record
# journal's cost per record (bench/journal_cost.py) and the SSE response's CPU per event
# (bench/sse_cost.py), printed.
BENCH_VENV := bench/.venv-bench
BENCH_STAMP := $(BENCH_VENV)/.installed

$(BENCH_STAMP): bench/requirements.txt
	$(PYTHON) -m venv $(BENCH_VENV)
	$(BENCH_VENV)/bin/pip install --quiet --upgrade pip
	$(BENCH_VENV)/bin/pip install --quiet -r bench/requirements.txt
	touch $(BENCH_STAMP)

bench: $(RUN_STAMP) $(BENCH_STAMP)
	$(BENCH_VENV)/bin/python bench/run.py $(if $(filter 1 true yes,$(BENCH_QUICK)),--quick) $(BENCH_ARGS)
	$(BIN)/python bench/journal_cost.py $(if $(filter 1 true yes,$(BENCH_QUICK)),--records 5000 --rounds 3)
	$(BIN)/python bench/sse_cost.py $(if $(filter 1 true yes,$(BENCH_QUICK)),--rounds 3)
