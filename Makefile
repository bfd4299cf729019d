# Parley: every target bootstraps .venv from scratch on a fresh machine.
PY ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: test lint typecheck unit demo bench chaos fuzz clean

$(STAMP): requirements.lock pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet --require-hashes -r requirements.lock
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $(STAMP)

lint: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/mypy src

unit: $(STAMP)
	$(BIN)/pytest -n 2 --dist loadgroup -q

test: lint unit

demo: $(STAMP)
	$(BIN)/parley demo

bench: $(STAMP)
	$(BIN)/python -m bench.run_all

chaos: $(STAMP)
	PARLEY_CRASH_ROUNDS=$${PARLEY_CRASH_ROUNDS:-200} $(BIN)/pytest -q tests/store/test_crash_durability.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
