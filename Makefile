# Parley: every target bootstraps .venv from scratch on a fresh machine.
PY ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# The independent C2SP witness and verifier of the interoperability test need Python >= 3.12.
# pyenv's own builds first: its shim on PATH fails unless 3.12 is the selected version.
PY312 ?= $(firstword $(wildcard $(HOME)/.pyenv/versions/3.12*/bin/python3.12 /root/.pyenv/versions/3.12*/bin/python3.12) $(shell command -v python3.12))
WVENV := .venv-witness
WSTAMP := $(WVENV)/.installed

.PHONY: test lint typecheck unit chromium demo bench chaos fuzz clean

$(STAMP): requirements.lock pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet --require-hashes -r requirements.lock
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $(STAMP)

$(WSTAMP): requirements-witness.lock
	test -x $(WVENV)/bin/python || $(PY312) -m venv $(WVENV)
	$(WVENV)/bin/python -m pip install --quiet --require-hashes --only-binary :all: -r requirements-witness.lock
	touch $(WSTAMP)

lint: $(STAMP)
	$(BIN)/ruff format --check src tests bench
	$(BIN)/ruff check src tests bench
	$(BIN)/mypy src tests bench

# The browser tests (tests/web) drive Debian's chromium through Playwright: install it when it is
# missing, with a font for real text metrics. Playwright's own browser download is never used.
chromium:
	@test -x /usr/bin/chromium || { apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-liberation >/dev/null; }

unit: $(STAMP) $(WSTAMP) chromium
	$(BIN)/pytest -n 2 --dist loadgroup -q

test: lint unit

demo: $(STAMP)
	$(BIN)/parley demo

bench: $(STAMP)
	$(BIN)/python -m bench.run_all

chaos: $(STAMP)
	PARLEY_CRASH_ROUNDS=$${PARLEY_CRASH_ROUNDS:-200} $(BIN)/pytest -q tests/store/test_crash_durability.py

# Schemathesis explores the officer API at random here (make test runs a fixed, derandomized
# budget, so that a run is reproducible): more examples and longer stateful runs.
fuzz: $(STAMP)
	PARLEY_SCHEMATHESIS_RANDOM=1 PARLEY_SCHEMATHESIS_EXAMPLES=$${PARLEY_SCHEMATHESIS_EXAMPLES:-300} \
	PARLEY_SCHEMATHESIS_STEPS=$${PARLEY_SCHEMATHESIS_STEPS:-25} \
	$(BIN)/pytest -q tests/api/v1/test_schemathesis.py tests/api/test_fed_fuzz.py

clean:
	rm -rf $(VENV) $(WVENV) .pytest_cache .mypy_cache .ruff_cache
