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
# medallion, the OASIS TAXII 2.1 reference server that bench/bench_taxii.py runs beside Parley's
# TAXII server: its own virtualenv, pinned in requirements-medallion.lock, never in .venv.
MVENV := .venv-medallion
MSTAMP := $(MVENV)/.installed

# The pages' message catalogues, compiled at build (src/parley/web/i18n.py reads the .mo files).
PO := $(wildcard src/parley/web/locale/*/LC_MESSAGES/messages.po)
MO := $(PO:.po=.mo)

.PHONY: test lint typecheck unit chromium demo bench bench-taxii chaos fuzz clean catalogues screenshots

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

$(MSTAMP): requirements-medallion.lock
	test -x $(MVENV)/bin/python || $(PY) -m venv $(MVENV)
	$(MVENV)/bin/python -m pip install --quiet --require-hashes -r requirements-medallion.lock
	touch $(MSTAMP)

%.mo: %.po $(STAMP)
	$(BIN)/pybabel compile --statistics -i $< -o $@ -l $(word 5,$(subst /, ,$<)) -D messages

catalogues: $(MO)

lint: $(STAMP)
	$(BIN)/ruff format --check src tests bench tools
	$(BIN)/ruff check src tests bench tools
	$(BIN)/mypy src tests bench tools

# The browser tests (tests/web) drive Debian's chromium through Playwright: install it when it is
# missing, with a font for real text metrics. Playwright's own browser download is never used.
chromium:
	@test -x /usr/bin/chromium || { apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-liberation >/dev/null; }

# --dist loadscope: each module runs whole on one worker, so that a module's fleet of real nodes
# starts once (tests/conftest.py puts those modules first). Not loadgroup: with pytest 9.2 its
# xdist_group marks no longer group anything (pytest-xdist issue 1386). Three workers on two
# cores: the fleet tests spend much of their time waiting for the nodes' intervals.
WORKERS ?= 3
unit: $(STAMP) $(WSTAMP) $(MO) chromium
	$(BIN)/pytest -n $(WORKERS) --dist loadscope -q

test: lint unit

demo: $(STAMP) $(MO)
	$(BIN)/parley demo

bench: $(STAMP) $(MO) $(MSTAMP)
	$(BIN)/python -m bench.run_all

# TAXII writes and paged reads beside medallion (docs/benchmarks.md, TAXII).
bench-taxii: $(STAMP) $(MO) $(MSTAMP)
	$(BIN)/python -m bench.bench_taxii --medallion $(MVENV)/bin/python

chaos: $(STAMP) $(MO)
	PARLEY_CRASH_ROUNDS=$${PARLEY_CRASH_ROUNDS:-200} $(BIN)/pytest -q tests/store/test_crash_durability.py

# Schemathesis explores the officer API at random here (make test runs a fixed, derandomized
# budget, so that a run is reproducible): more examples and longer stateful runs.
fuzz: $(STAMP) $(MO)
	PARLEY_SCHEMATHESIS_RANDOM=1 PARLEY_SCHEMATHESIS_EXAMPLES=$${PARLEY_SCHEMATHESIS_EXAMPLES:-300} \
	PARLEY_SCHEMATHESIS_STEPS=$${PARLEY_SCHEMATHESIS_STEPS:-25} \
	$(BIN)/pytest -q tests/api/v1/test_schemathesis.py tests/api/test_fed_fuzz.py

# The README's pictures of the pages: three real nodes, some exercise traffic, chromium.
screenshots: $(STAMP) $(MO) chromium
	$(BIN)/python -m tests.web.screenshots

clean:
	rm -rf $(VENV) $(WVENV) .pytest_cache .mypy_cache .ruff_cache
