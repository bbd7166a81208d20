# salesreport — `make help` lists the targets.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON_BOOT ?= $(shell command -v python3.11 || command -v python3)
VENV        := .venv
PY          := $(VENV)/bin/python
STAMP       := $(VENV)/.installed
TEAM        ?= emea
MONTH       ?=
DATA        ?=
ARGS        ?=
ALLOW_PARTIAL ?=
# the test suite's processes (pytest-xdist's worksteal: each starts on half of the tests, in
# order, and takes from the other's queue when it runs out; a file's module fixtures are
# built again only where its tests are split): 2 fits the 2-core machines CI runs on;
# TEST_WORKERS=0 runs every test in this one process
TEST_WORKERS ?= 2

REPORT_FLAGS := $(if $(filter all,$(TEAM)),--all-teams,--team "$(TEAM)") $(if $(MONTH),--month "$(MONTH)") $(if $(DATA),--data "$(DATA)") $(if $(ALLOW_PARTIAL),--allow-partial) $(ARGS)
# `make report TEAM=` (empty) names the problem before anything starts
CHECK_TEAM   = @test -n "$(strip $(TEAM))" || { echo "make: TEAM is empty: name a team, e.g. make $@ TEAM=emea (teams: $$(ls params | sed -n 's/\.yaml$$//p' | grep -v '^defaults$$' | tr '\n' ' '))" >&2; exit 2; }
# JupyterLab refuses to start as root unless told to (containers run as root)
LAB_ROOT    := $(if $(filter 0,$(shell id -u 2>/dev/null)),--allow-root)

help: ## List the targets
	@grep -hE '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-8s %s\n", $$1, $$2}'
	@echo "  report takes TEAM=<team> (TEAM=all: every team) [MONTH=YYYY-MM] [DATA=path] [ALLOW_PARTIAL=1] [ARGS=...]"
	@echo "  lab takes ARGS=... (e.g. ARGS='--port 8890 --no-browser')"
	@echo "  test takes ARGS=... (pytest's: a file, -k NAME) [TEST_WORKERS=2: processes; 0 runs them in one]"

$(STAMP): requirements.lock pyproject.toml Makefile
	@echo "==> setting up $(VENV) (first run only; re-run when requirements.lock changes)"
	@test -x $(PY) || $(PYTHON_BOOT) -m venv $(VENV)
	@# uv installs ~10x faster than pip; plain pip is the fallback when uv cannot be had.
	@if $(VENV)/bin/python -m pip install -q "$$(grep -E '^uv==' requirements.lock)" 2>/dev/null; then \
	    $(VENV)/bin/uv pip install -q --compile-bytecode --python $(PY) -r requirements.lock && \
	    $(VENV)/bin/uv pip install -q --python $(PY) --no-deps -e . ; \
	  else \
	    $(PY) -m pip install -q -r requirements.lock && $(PY) -m pip install -q --no-deps -e . ; \
	  fi
	@# Byte-compile every installed module once: without .pyc files (uv does not write them by
	@# default, and PYTHONDONTWRITEBYTECODE stops Python from caching them) every kernel would
	@# recompile pandas, matplotlib and scipy from source, seconds per notebook.
	@$(PY) -m compileall -q -j 0 $(VENV)/lib salesreport >/dev/null 2>&1 || true
	@$(PY) -m ipykernel install --sys-prefix --name salesreport --display-name "Python (salesreport)" >/dev/null
	@touch $(STAMP)

setup: $(STAMP) ## Create or update the environment in .venv/ (idempotent)

# The package's own byte code, refreshed when its sources change (a git pull): with
# PYTHONDONTWRITEBYTECODE set, Python would otherwise recompile every changed module in the
# main process and again in each notebook kernel, every run. Takes ~0.1 s when up to date.
BYTECODE = @$(PY) -m compileall -q salesreport >/dev/null

report: $(STAMP) ## Build a team's monthly report: TEAM=emea [MONTH=2026-10] [DATA=path]
	$(CHECK_TEAM)
	$(BYTECODE)
	@$(PY) -m salesreport report $(REPORT_FLAGS)

validate: $(STAMP) ## Load and check a team's data only: TEAM=emea [DATA=path]
	$(CHECK_TEAM)
	@$(PY) -m salesreport validate --team "$(TEAM)" $(if $(MONTH),--month "$(MONTH)") $(if $(DATA),--data "$(DATA)")

lab: $(STAMP) ## Start JupyterLab on notebooks/ with the salesreport kernel: [ARGS='--port 8890 --no-browser']
	@$(VENV)/bin/jupyter lab --notebook-dir=notebooks $(LAB_ROOT) $(ARGS)

# What the tests need beside Python, by command -> Debian package: a browser and poppler for
# the HTML and print checks, a PostgreSQL server and Java (for Spark) for the engine tests.
TEST_TOOLS := chromium:chromium pdftoppm:poppler-utils java:default-jre-headless \
              initdb:postgresql

test: $(STAMP) ## Run the test suite (installs Chromium, poppler, PostgreSQL and Java with apt when missing)
	@missing=""; for pair in $(TEST_TOOLS); do cmd=$${pair%%:*}; pkg=$${pair#*:}; \
	  command -v $$cmd >/dev/null || ls /usr/lib/postgresql/*/bin/$$cmd >/dev/null 2>&1 || \
	    missing="$$missing $$pkg"; done; \
	if [ -n "$$missing" ]; then \
	  if command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ]; then \
	    echo "==> installing$$missing for the browser, print and engine tests"; \
	    mkdir -p /etc/postgresql-common; \
	    [ -e /etc/postgresql-common/createcluster.conf ] || \
	      echo "create_main_cluster = false" > /etc/postgresql-common/createcluster.conf; \
	    apt-get update -qq >/dev/null && \
	      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	  else echo "==> not installed:$$missing (their tests skip; with CI set they fail)"; fi; \
	fi
	@$(PY) -m pytest -n $(TEST_WORKERS) --dist worksteal $(ARGS)

lint: $(STAMP) ## Lint and format-check with ruff
	@$(VENV)/bin/ruff check salesreport tests benchmarks
	@$(VENV)/bin/ruff format --check salesreport tests benchmarks

bench: $(STAMP) ## Run the benchmarks and print their figures
	$(BYTECODE)
	@for b in benchmarks/bench_*.py; do echo "==> $$b"; $(PY) $$b || exit 1; done

lock: ## Re-pin requirements.lock from requirements.in (then update environment.yml)
	@$(VENV)/bin/uv pip compile --python-version 3.11 requirements.in -o requirements.lock --no-header -q
	@$(PY) -m salesreport.devtools sync-environment-yml

clean: ## Remove the environment, caches and generated reports
	rm -rf $(VENV) .pytest_cache .ruff_cache .hypothesis build *.egg-info
	find reports -mindepth 1 ! -name README.md -exec rm -rf {} + 2>/dev/null || true

.PHONY: help setup report validate lab test lint bench lock clean
